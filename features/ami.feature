Feature: AMI images with their kernel and ramdisk
  An AMI image refers to its kernel and ramdisk by kernel_id and ramdisk_id. In a region these
  must point at the region's own kernel and ramdisk, whatever the sizes (images are processed
  smallest first), and the whole set must arrive in a single run.

  Scenario Outline: image, kernel and ramdisk arrive in one run (kernel <kernel>, ramdisk <ramdisk>, image <image>)
    Given Madrid has these images:
      | name    | disk_format | size      | properties                                           |
      | kernel  | aki         | <kernel>  | type=kernel                                          |
      | ramdisk | ari         | <ramdisk> | type=ramdisk                                         |
      | machine | ami         | <image>   | type=base, kernel_id={id of kernel}, ramdisk_id={id of ramdisk} |
    When I run glancesync Lisbon
    Then the exit status is 0
    And Lisbon has exactly these images:
      | name    | content | properties                                                      |
      | kernel  | kernel  | type=kernel                                                     |
      | ramdisk | ramdisk | type=ramdisk                                                    |
      | machine | machine | type=base, kernel_id={id of kernel}, ramdisk_id={id of ramdisk} |
    When I run glancesync --show-status Lisbon
    Then the output is, in any order:
      """
      ok,Lisbon,kernel
      ok,Lisbon,ramdisk
      ok,Lisbon,machine
      """
    And the exit status is 0

    Examples:
      | kernel | ramdisk | image  |
      | 1 KiB  | 2 KiB   | 8 KiB  |
      | 8 KiB  | 12 KiB  | 2 KiB  |
      | 12 KiB | 1 KiB   | 4 KiB  |
      | 2 KiB  | 8 KiB   | 4 KiB  |

  Scenario: the status of an image waiting for its kernel and ramdisk
    Given Madrid has these images:
      | name    | disk_format | size  | properties                                         |
      | kernel  | aki         | 8 KiB |                                                    |
      | ramdisk | ari         | 8 KiB |                                                    |
      | machine | ami         | 2 KiB | kernel_id={id of kernel}, ramdisk_id={id of ramdisk} |
    When I run glancesync --show-status Lisbon
    Then the output is:
      """
      pending_ami,Lisbon,machine
      pending_upload,Lisbon,kernel
      pending_upload,Lisbon,ramdisk
      """

  Scenario: a kernel already in the region is used as it is
    Given Madrid has these images:
      | name    | disk_format | properties                                           |
      | kernel  | aki         |                                                      |
      | ramdisk | ari         |                                                      |
      | machine | ami         | kernel_id={id of kernel}, ramdisk_id={id of ramdisk} |
    And Lisbon has a copy of the master image kernel
    When I run glancesync Lisbon
    Then the image kernel in Lisbon was not touched
    And Lisbon has exactly these images:
      | name    | properties                                           |
      | kernel  |                                                      |
      | ramdisk |                                                      |
      | machine | kernel_id={id of kernel}, ramdisk_id={id of ramdisk} |

  Scenario: a replaced kernel is the one the image points to
    Given Madrid has these images:
      | name    | disk_format | size  | properties                                           |
      | kernel  | aki         | 8 KiB |                                                      |
      | ramdisk | ari         | 8 KiB |                                                      |
      | machine | ami         | 2 KiB | kernel_id={id of kernel}, ramdisk_id={id of ramdisk} |
    And Lisbon has these images:
      | name   | content    | disk_format |
      | kernel | old kernel | aki         |
    And the setting "replace=any"
    When I run glancesync Lisbon
    Then the exit status is 0
    And Lisbon has exactly these images:
      | name    | content | properties                                           |
      | kernel  | kernel  |                                                      |
      | ramdisk | ramdisk |                                                      |
      | machine | machine | kernel_id={id of kernel}, ramdisk_id={id of ramdisk} |

  Scenario: a regional image pointing at the wrong kernel is corrected in place
    Given Madrid has these images:
      | name    | disk_format | properties                                           |
      | kernel  | aki         |                                                      |
      | ramdisk | ari         |                                                      |
      | machine | ami         | kernel_id={id of kernel}, ramdisk_id={id of ramdisk} |
    And Lisbon has copies of the master images kernel and ramdisk
    And Lisbon has these images:
      | name    | disk_format | properties                                            |
      | machine | ami         | kernel_id={id of ramdisk}, ramdisk_id={id of ramdisk} |
    When I run glancesync Lisbon
    Then the output is, with Lisbon's image ids:
      """
      Lisbon: updated metadata of machine: set kernel_id: {id of ramdisk} → {id of kernel}
      """
    And the image machine in Lisbon was updated in place
    And Lisbon has exactly these images:
      | name    | properties                                           |
      | kernel  |                                                      |
      | ramdisk |                                                      |
      | machine | kernel_id={id of kernel}, ramdisk_id={id of ramdisk} |

  Scenario: an image whose kernel is not synchronised needs the operator
    Given Madrid has these images:
      | name    | disk_format | visibility | properties                                           |
      | kernel  | aki         | private    |                                                      |
      | ramdisk | ari         | public     |                                                      |
      | machine | ami         | public     | kernel_id={id of kernel}, ramdisk_id={id of ramdisk} |
    When I run glancesync --show-status Lisbon
    Then the output is:
      """
      error_ami,Lisbon,machine
      pending_upload,Lisbon,ramdisk
      """
    And the exit status is 4
    When I run glancesync Lisbon
    Then the exit status is 4
    And Lisbon has exactly these images:
      | name    |
      | ramdisk |

  Scenario: a renamed kernel: the image follows the new kernel in the same run
    Given Madrid has these images:
      | name    | content | disk_format | size  | properties                                           |
      | kernel  | k2      | aki         | 8 KiB |                                                      |
      | ramdisk | r1      | ari         | 8 KiB |                                                      |
      | machine | m1      | ami         | 2 KiB | kernel_id={id of kernel}, ramdisk_id={id of ramdisk} |
    And Lisbon has these images:
      | name    | content | disk_format | size  | properties                                           |
      | kernel  | k1      | aki         | 8 KiB |                                                      |
      | ramdisk | r1      | ari         | 8 KiB |                                                      |
      | machine | m1      | ami         | 2 KiB | kernel_id={id of kernel}, ramdisk_id={id of ramdisk} |
    And the setting "rename=any"
    When I run glancesync Lisbon
    Then the exit status is 0
    And the images machine and ramdisk in Lisbon were updated in place
    And Lisbon has exactly these images:
      | name       | content | properties                                                       |
      | kernel     | k2      |                                                                  |
      | kernel.old | k1      | glancesync_retired_at=*, glancesync_retired_by=glancesync rename, glancesync_retired_id=* |
      | ramdisk    | r1      |                                                                  |
      | machine    | m1      | kernel_id={id of kernel}, ramdisk_id={id of ramdisk}             |
    When I run glancesync --show-status Lisbon
    Then the output is:
      """
      ok,Lisbon,machine
      ok,Lisbon,kernel
      ok,Lisbon,ramdisk
      """

  Scenario: kernel_id and ramdisk_id are copied whatever metadata_set says
    Given Madrid has these images:
      | name    | disk_format | properties                                                      |
      | kernel  | aki         | type=kernel                                                     |
      | ramdisk | ari         | type=ramdisk                                                    |
      | machine | ami         | type=base, kernel_id={id of kernel}, ramdisk_id={id of ramdisk} |
    And the setting "metadata_set=type"
    When I run glancesync Lisbon
    Then Lisbon has exactly these images:
      | name    | properties                                                      |
      | kernel  | type=kernel                                                     |
      | ramdisk | type=ramdisk                                                    |
      | machine | type=base, kernel_id={id of kernel}, ramdisk_id={id of ramdisk} |
