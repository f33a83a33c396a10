Feature: Regions in parallel
  --parallel visits up to max_children regions at once, each in its own process logging into
  its own file of a new run directory. The result, the output (in region order) and the exit
  status are those of a sequential run.

  Background:
    Given Madrid has these images:
      | name | content | size  | properties |
      | base | b2      | 1 KiB | type=base  |
      | web  | w1      | 2 KiB | type=web   |
    And Lisbon has these images:
      | name | content | size  | properties |
      | base | b2      | 1 KiB | type=old   |
    And Paris has these images:
      | name | content | size  | properties |
      | base | b1      | 1 KiB | type=base  |

  Scenario Outline: the same result as a sequential run (<options>, max_children <children>)
    Given the setting "max_children=<children>"
    When I run glancesync <options> --run-dir runs Lisbon Paris other:Berlin
    Then the output is:
      """
      Lisbon: updated metadata of base: set type: old → base
      Lisbon: uploaded web (2.0 KiB)
      Paris: uploaded web (2.0 KiB, copied by glance-download)
      other:Berlin: uploaded base (1.0 KiB)
      other:Berlin: uploaded web (2.0 KiB)
      """
    And the exit status is 4
    And the errors mention "error_checksum"
    And Lisbon and other:Berlin have exactly these images:
      | name | content | properties |
      | base | b2      | type=base  |
      | web  | w1      | type=web   |
    And Paris has exactly these images:
      | name | content | properties |
      | base | b1      | type=base  |
      | web  | w1      | type=web   |

    Examples:
      | options    | children |
      | -v         | 1        |
      | --parallel | 1        |
      | --parallel | 3        |

  Scenario: every run gets a new directory with one log per region
    Given the setting "max_children=3"
    When I run glancesync --parallel --run-dir runs Lisbon Paris other:Berlin
    Then a new run directory in runs holds one log per region: Lisbon, Paris and other:Berlin
    When I run glancesync --parallel --run-dir runs Lisbon Paris other:Berlin
    Then a new run directory in runs holds one log per region: Lisbon, Paris and other:Berlin

  Scenario: a parallel dry run writes nothing
    Given the setting "max_children=3"
    When I run glancesync --parallel --dry-run --run-dir runs
    Then the output is:
      """
      Lisbon: would update metadata of base: set type: old → base
      Lisbon: would upload web (2.0 KiB)
      Paris: would upload web (2.0 KiB, copied by glance-download)
      """
    And nothing was written to Glance

  Scenario: a parallel status report keeps the region order
    Given the setting "max_children=3"
    When I run glancesync --parallel --show-status --run-dir runs other:Rome Paris Lisbon
    Then the output is:
      """
      pending_upload,other:Rome,base
      pending_upload,other:Rome,web
      error_checksum,Paris,base
      pending_upload,Paris,web
      pending_metadata,Lisbon,base
      pending_upload,Lisbon,web
      """
    And the exit status is 4
    And nothing was written to Glance

  Scenario: an unknown region fails a parallel run too
    Given the setting "max_children=3"
    When I run glancesync --parallel --show-status --run-dir runs Lisbon Atlantis
    Then the exit status is 1
    And the errors mention "Atlantis"
    And the output is:
      """
      failed,Atlantis,
      pending_metadata,Lisbon,base
      pending_upload,Lisbon,web
      """
