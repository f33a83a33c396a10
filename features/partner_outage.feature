Feature: One partner's outage leaves the other regions synced
  In a federation the regions of a partner belong to another organisation, behind its own
  Keystone. When that Keystone is out of service, glancesync fails that partner's regions only:
  the master target's regions (and those of every other partner) are synced as usual, and the
  run ends with exit status 1 so that cron tells the operator. The next run, once the partner
  is back, catches up.

  Background:
    Given Madrid has these images:
      | name | size  |
      | base | 1 KiB |

  Scenario: a partner whose Keystone cannot be reached
    Given the Keystone of partner other cannot be reached
    When I run glancesync Lisbon other:Berlin Paris
    Then the output is:
      """
      Lisbon: uploaded base (1.0 KiB)
      Paris: uploaded base (1.0 KiB, copied by glance-download)
      """
    And the exit status is 1
    And the errors mention "target other"
    And the errors mention "cannot connect: connection refused"
    And Lisbon and Paris have exactly these images:
      | name |
      | base |
    And other:Berlin has no images

  Scenario: a partner whose Keystone hangs, every one of its regions asked for
    Given the Keystone of partner other hangs
    When I run glancesync Lisbon other: Paris
    Then the output is:
      """
      Lisbon: uploaded base (1.0 KiB)
      Paris: uploaded base (1.0 KiB, copied by glance-download)
      """
    And the exit status is 1
    And the errors mention "target other"
    And the errors mention "no answer within api_timeout (2 s)"
    And Lisbon and Paris have exactly these images:
      | name |
      | base |

  Scenario: the same outage under --parallel
    Given the Keystone of partner other hangs
    When I run glancesync --parallel --run-dir runs Lisbon other:Berlin Paris
    Then the output is:
      """
      Lisbon: uploaded base (1.0 KiB)
      Paris: uploaded base (1.0 KiB, copied by glance-download)
      """
    And the exit status is 1
    And the errors mention "target other"
    And Lisbon and Paris have exactly these images:
      | name |
      | base |

  Scenario: the next run catches up once the partner is back
    Given the Keystone of partner other hangs
    And I run glancesync Lisbon other:Berlin
    When the Keystone of partner other answers again
    And I run glancesync Lisbon other:Berlin
    Then the output is:
      """
      other:Berlin: uploaded base (1.0 KiB)
      """
    And the exit status is 0
    And other:Berlin has exactly these images:
      | name |
      | base |
