Feature: Metadata follows the master
  When a regional copy has the master's content but other metadata, its metadata is patched in
  place, and the output names every key set (old → new), removed and kept. Without a
  metadata_set every property of the master is set and the properties that only the region has
  are kept, unless the target asks for an exact mirror with prune_properties. With a
  metadata_set its keys are added, changed or removed as in the master; other properties are
  the region's own and survive.

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
      Lisbon: updated metadata of base: set added: ok; set type: old → base; removed dropped; kept local
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

  Scenario: properties that only the region has survive a sync
    Given Madrid has these images:
      | name | content | properties |
      | p    | b1      | type=base  |
    And Lisbon has these images:
      | name | content | properties                        |
      | p    | b1      | type=old, hw_qemu_guest_agent=yes |
    When I run glancesync --dry-run Lisbon
    Then the output is:
      """
      Lisbon: would update metadata of p: set type: old → base; keep hw_qemu_guest_agent
      """
    And nothing was written to Glance
    When I run glancesync Lisbon
    Then the output is:
      """
      Lisbon: updated metadata of p: set type: old → base; kept hw_qemu_guest_agent
      """
    And the exit status is 0
    And the image p in Lisbon was updated in place
    And Lisbon has exactly these images:
      | name | properties                         |
      | p    | type=base, hw_qemu_guest_agent=yes |

  Scenario: a copy that differs only by properties of its own is in line
    Given Madrid has these images:
      | name | content | properties |
      | p    | b1      | type=base  |
    And Lisbon has these images:
      | name | content | properties                         |
      | p    | b1      | type=base, hw_qemu_guest_agent=yes |
    When I run glancesync --show-status Lisbon
    Then the output is:
      """
      ok,Lisbon,p
      """
    When I run glancesync Lisbon
    Then the output is empty
    And nothing was written to Glance

  Scenario: a target that asks for an exact mirror loses the properties only the region has
    Given Madrid has these images:
      | name | content | properties       |
      | p    | b1      | type=base, nid=2 |
    And Lisbon has these images:
      | name | content | properties                        |
      | p    | b1      | type=old, hw_qemu_guest_agent=yes |
    And the setting "master.prune_properties=true"
    When I run glancesync Lisbon
    Then the output is:
      """
      Lisbon: updated metadata of p: set nid: 2; set type: old → base; removed hw_qemu_guest_agent
      """
    And the image p in Lisbon was updated in place
    And Lisbon has exactly these images:
      | name | properties       |
      | p    | type=base, nid=2 |

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
