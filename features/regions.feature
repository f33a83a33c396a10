Feature: Choosing the regions of a run
  Without arguments a run visits every region of the master target but the master and the
  ignored ones, preferred regions first. Regions named on the command line are visited in
  that order; T: stands for every region of target T. Target "other" has its own Keystone and
  its own credentials; its regions are named other:R. A run says what it leaves out: a target
  it does not visit, a region name of the configuration that no catalog has.

  Background:
    Given Madrid has these images:
      | name | properties |
      | base | type=base  |

  Scenario: regions named on the command line are visited in that order
    When I run glancesync Paris Lisbon
    Then the output is:
      """
      Paris: uploaded base (4.0 KiB, copied by glance-download)
      Lisbon: uploaded base (4.0 KiB)
      """
    And the exit status is 0

  Scenario: the master region may be named with its target
    When I run glancesync master:Paris
    Then the output is:
      """
      Paris: uploaded base (4.0 KiB, copied by glance-download)
      """
    And Lisbon has no images

  Scenario: the regions of the other target get the images too
    When I run glancesync Lisbon other:Rome
    Then the exit status is 0
    And Lisbon and other:Rome have exactly these images:
      | name | content | visibility | properties |
      | base | base    | public     | type=base  |
    And other:Rome has exactly these images:
      | name | owner |
      | base | other |
    And Paris and other:Berlin have no images

  Scenario: "other:" stands for every region of the target
    When I run glancesync other:
    Then the output is:
      """
      other:Berlin: uploaded base (4.0 KiB)
      other:Rome: uploaded base (4.0 KiB)
      """
    And Lisbon and Paris have no images

  Scenario: "other:" leaves out the target's ignored regions
    Given the setting "other.ignore_regions=Berlin"
    When I run glancesync other:
    Then the output is:
      """
      other:Rome: uploaded base (4.0 KiB)
      """

  Scenario: ignored regions are left out of a plain run
    Given the setting "master.ignore_regions=Paris"
    When I run glancesync
    Then the output is:
      """
      Lisbon: uploaded base (4.0 KiB)
      """
    And Paris has no images

  Scenario: a plain run says that it leaves the other target out
    When I run glancesync
    Then the exit status is 0
    And the errors mention "target other is configured but not visited: name its regions (other:) to sync them"
    And other:Berlin and other:Rome have no images

  Scenario: a misspelt ignored region is named, with the region it probably means
    Given the setting "master.ignore_regions=Pariss"
    When I run glancesync
    Then the errors mention "no catalog has a region 'Pariss' (did you mean 'Paris'?)"
    And Paris has exactly these images:
      | name |
      | base |

  Scenario: preferred regions are visited first
    Given the setting "preferable_order=Paris"
    When I run glancesync
    Then the output is:
      """
      Paris: uploaded base (4.0 KiB, copied by glance-download)
      Lisbon: uploaded base (4.0 KiB)
      """

  Scenario: an unknown region is reported; the others are still synchronised
    When I run glancesync Lisbon Atlantis
    Then the exit status is 1
    And the errors mention "Atlantis"
    And Lisbon has exactly these images:
      | name |
      | base |

  Scenario Outline: a usage error changes nothing (<arguments>)
    When I run glancesync <arguments>
    Then the exit status is 2
    And the errors mention "<message>"
    And nothing was written to Glance

    Examples:
      | arguments           | message  |
      | nowhere:Berlin      | nowhere  |
      | Madrid              | master   |
      | Lisbon Lisbon       | twice    |
