Feature: Metadata follows the master
  When a regional copy has the master's content but other metadata, its metadata is patched in
  place: keys of metadata_set are added, changed or removed as in the master; other properties
  are the region's own and survive.

  Scenario: added, changed and removed keys of metadata_set follow; local properties survive
    Given Madrid has these images:
      | name | content | properties                 |
      | base | b1      | type=base, nid=2, added=ok |
    And Lisbon has these images:
      | name | content | properties                                 |
      | base | b1      | type=old, nid=2, dropped=x, local=mine     |
    And the setting "metadata_set=type, nid, added, dropped"
    When I run glancesync Lisbon
    Then the output is:
      """
      Lisbon: updated metadata of base
      """
    And the exit status is 0
    And the image base in Lisbon was updated in place
    And Lisbon has exactly these images:
      | name | content | properties                           |
      | base | b1      | type=base, nid=2, added=ok, local=mine |

  Scenario: the visibility follows the master
    Given Madrid has these images:
      | name | content | visibility | properties |
      | base | b1      | public     | type=base  |
    And Lisbon has these images:
      | name | content | visibility | properties |
      | base | b1      | private    | type=base  |
    When I run glancesync Lisbon
    Then the image base in Lisbon was updated in place
    And Lisbon has exactly these images:
      | name | visibility |
      | base | public     |

  Scenario: with an empty metadata_set every property follows the master
    Given Madrid has these images:
      | name | content | properties       |
      | base | b1      | type=base, nid=2 |
    And Lisbon has these images:
      | name | content | properties                |
      | base | b1      | type=old, local=mine      |
    When I run glancesync Lisbon
    Then the image base in Lisbon was updated in place
    And Lisbon has exactly these images:
      | name | properties       |
      | base | type=base, nid=2 |

  Scenario: an image whose metadata is in line is left alone
    Given Madrid has these images:
      | name | content | properties       |
      | base | b1      | type=base, nid=2 |
    And Lisbon has these images:
      | name | content | properties                   |
      | base | b1      | type=base, nid=2, local=mine |
    And the setting "metadata_set=type, nid"
    When I run glancesync Lisbon
    Then the output is empty
    And nothing was written to Glance

  Scenario: min_ram and min_disk follow the master
    Given Madrid has these images:
      | name | content | min_ram | min_disk | properties |
      | base | b1      | 512     | 2        | type=base  |
    And Lisbon has these images:
      | name | content | min_ram | min_disk | properties |
      | base | b1      | 0       | 1        | type=base  |
    When I run glancesync Lisbon
    Then the image base in Lisbon was updated in place
    And Lisbon has exactly these images:
      | name | min_ram | min_disk |
      | base | 512     | 2        |
