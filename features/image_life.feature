Feature: Copies follow the life of the master image: hidden, deactivated, tagged, arriving
  Glance can hide an image from its listings (os_hidden) and deactivate it (nobody can boot it
  any more). glancesync sees hidden images too: a hidden master image is copied hidden, and a
  hidden copy in a region is used, never duplicated. When the master image is deactivated, its
  copies are deactivated too, and they are reactivated with it; a copy that a region's admin
  deactivated is that admin's decision, and glancesync leaves it alone. Tags added to the
  master image are added to its copies; a region's own tags stay. An image still being
  uploaded to the master is reported as waiting, and nothing is done for it yet.

  Scenario: a hidden master image is copied hidden
    Given Madrid has these images:
      | name   | os_hidden |
      | rescue | true      |
    When I run glancesync Lisbon other:Berlin
    Then the output is:
      """
      Lisbon: uploaded rescue (4.0 KiB)
      other:Berlin: uploaded rescue (4.0 KiB)
      """
    And the exit status is 0
    And Lisbon and other:Berlin have exactly these images:
      | name   | content | os_hidden |
      | rescue | rescue  | true      |

  Scenario: a hidden copy in a region is used, not duplicated
    Given Madrid has these images:
      | name   |
      | rescue |
    And Lisbon has these images:
      | name   | os_hidden |
      | rescue | true      |
    When I run glancesync Lisbon
    Then the output is:
      """
      Lisbon: updated metadata of rescue: set os_hidden: True → False
      """
    And the image rescue in Lisbon was updated in place
    And Lisbon has exactly these images:
      | name   | os_hidden |
      | rescue | false     |

  Scenario: a hidden copy with other content is a conflict like any other
    Given Madrid has these images:
      | name   | content | os_hidden |
      | rescue | new     | true      |
    And Lisbon has these images:
      | name   | content | os_hidden |
      | rescue | old     | true      |
    When I run glancesync Lisbon
    Then the exit status is 4
    And the image rescue in Lisbon was not touched
    When I run glancesync --config replace=any Lisbon
    Then the output is:
      """
      Lisbon: replaced rescue (4.0 KiB)
      """
    And Lisbon has exactly these images:
      | name   | content | os_hidden |
      | rescue | new     | true      |

  Scenario: deactivating the master image deactivates its copies, reactivating it undoes that
    Given Madrid has these images:
      | name        |
      | compromised |
    And Lisbon and Paris have copies of the master images
    When the image compromised in Madrid is deactivated
    And I run glancesync --dry-run Lisbon Paris
    Then the output is:
      """
      Lisbon: would deactivate compromised
      Paris: would deactivate compromised
      """
    And nothing was written to Glance
    When I run glancesync Lisbon Paris
    Then the output is:
      """
      Lisbon: deactivated compromised
      Paris: deactivated compromised
      """
    And the exit status is 0
    And Lisbon and Paris have exactly these images:
      | name        | status      |
      | compromised | deactivated |
    When I run glancesync --show-status Lisbon Paris
    Then the output is:
      """
      ok,Lisbon,compromised
      ok,Paris,compromised
      """
    When the image compromised in Madrid is reactivated
    And I run glancesync Lisbon Paris
    Then the output is:
      """
      Lisbon: reactivated compromised
      Paris: reactivated compromised
      """
    And Lisbon and Paris have exactly these images:
      | name        | content     | status | properties |
      | compromised | compromised | active |            |

  Scenario: a deactivated master image is not copied to a region that lacks it
    Given Madrid has these images:
      | name        | status      |
      | compromised | deactivated |
    When I run glancesync --show-status Lisbon
    Then the output is:
      """
      ok_deactivated_in_master,Lisbon,compromised
      """
    When I run glancesync Lisbon
    Then the output is:
      """
      Lisbon: not copying compromised: deactivated in the master
      """
    And the exit status is 0
    And Lisbon has no images

  Scenario: a copy deactivated by the region's admin is left alone, and no second copy appears
    Given Madrid has these images:
      | name |
      | base |
    And Lisbon has these images:
      | name | visibility | status      |
      | base | private    | deactivated |
    When I run glancesync --show-status Lisbon
    Then the output is:
      """
      ok_deactivated_in_region,Lisbon,base
      """
    And the exit status is 0
    When I run glancesync Lisbon
    Then the output is, with Lisbon's image ids:
      """
      Lisbon: left base ({id of base}) as it is: deactivated in the region by someone else
      """
    And the exit status is 0
    And the image base in Lisbon was not touched
    And Lisbon has exactly these images:
      | name | visibility | status      |
      | base | private    | deactivated |

  Scenario: the admin's deactivation stands when the master image is deactivated and reactivated
    Given Madrid has these images:
      | name |
      | base |
    And Lisbon has a copy of the master image base
    And the image base in Lisbon was deactivated
    When the image base in Madrid is deactivated
    And I run glancesync Lisbon
    And the image base in Madrid is reactivated
    And I run glancesync Lisbon
    Then the exit status is 0
    And the image base in Lisbon was not touched
    And Lisbon has exactly these images:
      | name | status      |
      | base | deactivated |

  Scenario: the master's new tags are added to the copies, the region's own tags stay
    Given Madrid has these images:
      | name | tags    |
      | base | lts gpu |
    And Lisbon has these images:
      | name | tags      |
      | base | lts local |
    When I run glancesync Lisbon
    Then the output is:
      """
      Lisbon: updated metadata of base: added tags gpu
      """
    And the image base in Lisbon was updated in place
    And Lisbon has exactly these images:
      | name | tags          |
      | base | gpu local lts |
    When I run glancesync --show-status Lisbon
    Then the output is:
      """
      ok,Lisbon,base
      """

  Scenario: an image still being uploaded to the master waits, and the run succeeds
    Given Madrid has these images:
      | name  | status |
      | fresh | queued |
    When I run glancesync --show-status Lisbon
    Then the output is:
      """
      waiting,Lisbon,fresh
      """
    When I run glancesync Lisbon
    Then the output is:
      """
      Lisbon: waiting for fresh: still queued in the master, nothing done until it is active
      """
    And the exit status is 0
    And Lisbon has no images
