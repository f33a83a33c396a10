Feature: Which regions a run visits
  The master target holds Madrid (the master), Lisbon and Paris; the target "other", behind a
  second Keystone, holds Berlin and Rome. --show-regions prints the regions a run without
  arguments would visit, then those of the other targets as T:R, on one line.

  Scenario: every region but the master, then the other target's regions
    When I run glancesync --show-regions
    Then the output is:
      """
      Lisbon Paris other:Berlin other:Rome
      """
    And the exit status is 0

  Scenario: ignored regions are left out
    Given the setting "master.ignore_regions=Lisbon"
    And the setting "other.ignore_regions=Rome"
    When I run glancesync --show-regions
    Then the output is:
      """
      Paris other:Berlin
      """

  Scenario Outline: preferred regions come first (<order>)
    Given the setting "preferable_order=<order>"
    When I run glancesync --show-regions
    Then the output is:
      """
      Paris Lisbon other:Berlin other:Rome
      """

    Examples:
      | order         |
      | Paris         |
      | master:Paris  |
      | Paris, Lisbon |
