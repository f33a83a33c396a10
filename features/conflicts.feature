Feature: A regional image with other content than the master's
  When a region's image has the master's name but other content, the target's rules decide:
  dontupdate leaves it, rename keeps it as <name>.old (private) next to the new copy, replace
  deletes it once the new copy is verified. A rule lists regional checksums, or "any". Without
  a rule the operator must decide: error_checksum, exit status 4, nothing changed.

  Background:
    Given Madrid has these images:
      | name | content | properties          |
      | base | new     | type=base, nid=2    |
    And Lisbon has these images:
      | name | content | properties          |
      | base | old     | type=base, local=me |

  Scenario: without a rule nothing changes and the operator is told
    When I run glancesync Lisbon
    Then the exit status is 4
    And the output is empty
    And the errors mention "error_checksum"
    And nothing was written to Glance

  Scenario Outline: dontupdate leaves the regional image alone (<rule>)
    Given the setting "<rule>"
    When I run glancesync Lisbon
    Then the exit status is 0
    And the output is empty
    And nothing was written to Glance

    Examples:
      | rule                         |
      | dontupdate={checksum of old} |
      | dontupdate=any               |

  Scenario Outline: rename keeps the old image as base.old, private (<rule>)
    Given the setting "<rule>"
    When I run glancesync Lisbon
    Then the exit status is 0
    And the output is:
      """
      Lisbon: uploaded and kept the old copy of base (4.0 KiB) as base.old
      """
    And Lisbon has exactly these images:
      | name     | content | visibility | properties                                                                      |
      | base     | new     | public     | type=base, nid=2                                                                |
      | base.old | old     | private    | type=base, local=me, glancesync_retired_at=*, glancesync_retired_by=glancesync rename, glancesync_retired_id=* |

    Examples:
      | rule                     |
      | rename={checksum of old} |
      | rename=any               |

  Scenario Outline: replace deletes the old image after the upload (<rule>)
    Given the setting "<rule>"
    When I run glancesync Lisbon
    Then the exit status is 0
    And the output is:
      """
      Lisbon: replaced base (4.0 KiB)
      """
    And Lisbon has exactly these images:
      | name | content | visibility | properties       |
      | base | new     | public     | type=base, nid=2 |

    Examples:
      | rule                      |
      | replace={checksum of old} |
      | replace=any               |

  Scenario: a rule for another checksum does not apply
    Given Madrid has these images:
      | name    | content |
      | unused  | other   |
    And the setting "replace={checksum of other}"
    When I run glancesync --show-status Lisbon
    Then the output is:
      """
      error_checksum,Lisbon,base
      pending_upload,Lisbon,unused
      """

  Scenario: a rule for the checksum beats a rule for any
    Given the setting "dontupdate=any"
    And the setting "replace={checksum of old}"
    When I run glancesync Lisbon
    Then Lisbon has exactly these images:
      | name | content |
      | base | new     |

  Scenario: rename beats replace when both say any
    Given the setting "replace=any"
    And the setting "rename=any"
    When I run glancesync Lisbon
    Then Lisbon has exactly these images:
      | name     | content |
      | base     | new     |
      | base.old | old     |

  Scenario: a rename never overwrites an existing base.old
    Given Lisbon has these images:
      | name     | content | visibility |
      | base.old | older   | private    |
    And the setting "rename=any"
    When I run glancesync Lisbon
    Then Lisbon has exactly these images:
      | name       | content | visibility |
      | base       | new     | public     |
      | base.old   | older   | private    |
      | base.old.2 | old     | private    |

  Scenario: a protected old image cannot be replaced: the region fails, the next one runs
    Given Lisbon has these images:
      | name  | content | protected |
      | guard | guard   | true      |
    And Madrid has these images:
      | name  | content   |
      | guard | new guard |
    And the setting "replace=any"
    When I run glancesync Lisbon Paris
    Then the exit status is 1
    And the errors mention "could not be deleted"
    And Paris has exactly these images:
      | name  | content   |
      | base  | new       |
      | guard | new guard |
