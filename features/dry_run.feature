Feature: Dry run
  --dry-run says what a run would do, a line per action, and writes nothing at all.

  Scenario: every kind of action is announced and none is done
    Given Madrid has these images:
      | name          | content | size  | visibility | properties |
      | base          | b2      | 1 KiB | public     | type=base  |
      | web           | w1      | 2 KiB | public     | type=web   |
      | app_obsolete  | a1      | 3 KiB | private    |            |
    And Lisbon has these images:
      | name | content | size  | properties |
      | base | b1      | 1 KiB | type=base  |
    And Paris has these images:
      | name | content | size  | properties |
      | base | b2      | 1 KiB | type=old   |
      | app  | a1      | 3 KiB |            |
    And other:Berlin has these images:
      | name | content | size  | properties |
      | base | b1      | 1 KiB | type=base  |
    And the setting "master.rename=any"
    And the setting "other.replace=any"
    When I run glancesync --dry-run Lisbon Paris other:Berlin
    Then the output is:
      """
      Lisbon: would upload and keep the old copy of base (1.0 KiB) as base.old
      Lisbon: would upload web (2.0 KiB)
      Paris: would update metadata of base: set type: old → base
      Paris: would mark obsolete app_obsolete: set name: app → app_obsolete; set visibility: public → private
      Paris: would upload web (2.0 KiB, copied by glance-download)
      other:Berlin: would replace base (1.0 KiB)
      other:Berlin: would upload web (2.0 KiB)
      """
    And the exit status is 0
    And nothing was written to Glance

  Scenario: a conflict without a rule waits for a decision in the dry run too
    Given Madrid has these images:
      | name | content |
      | base | b2      |
    And Lisbon has these images:
      | name | content |
      | base | b1      |
    When I run glancesync --dry-run Lisbon
    Then the exit status is 4
    And the errors mention "error_checksum"
    And nothing was written to Glance

  Scenario: an AMI image and its kernel and ramdisk are all announced
    Given Madrid has these images:
      | name    | disk_format | size  | properties                                           |
      | kernel  | aki         | 8 KiB |                                                      |
      | ramdisk | ari         | 8 KiB |                                                      |
      | machine | ami         | 2 KiB | kernel_id={id of kernel}, ramdisk_id={id of ramdisk} |
    When I run glancesync --dry-run Lisbon
    Then the output is:
      """
      Lisbon: would upload kernel (8.0 KiB)
      Lisbon: would upload ramdisk (8.0 KiB)
      Lisbon: would upload machine (2.0 KiB)
      """
    And the exit status is 0
    And nothing was written to Glance
