Feature: Regions whose Glance copies images by itself
  In a region of the master's Keystone whose Glance offers the glance-download import method
  (Paris here), Glance copies each image from the master region by itself; glancesync checks
  the copy (size, checksum, hash) and gives it the metadata a streamed upload would have, and
  the image's bytes never pass through the sync host. Lisbon's Glance does not offer it: its
  images are streamed. A target that says server_side_copy = never streams everywhere.

  Background:
    Given Madrid has these images:
      | name | content | size  | properties                                     |
      | web  | w1      | 2 KiB | type=web, hw_disk_bus=virtio, os_distro=debian |

  Scenario: a dry run says which way each image would travel
    When I run glancesync --dry-run Lisbon Paris
    Then the output is:
      """
      Lisbon: would upload web (2.0 KiB)
      Paris: would upload web (2.0 KiB, copied by glance-download)
      """
    And nothing was written to Glance

  Scenario: the copy Paris makes is the copy Lisbon receives
    When I run glancesync Lisbon Paris
    Then the output is:
      """
      Lisbon: uploaded web (2.0 KiB)
      Paris: uploaded web (2.0 KiB, copied by glance-download)
      """
    And the exit status is 0
    And Lisbon and Paris have exactly these images:
      | name | content | visibility | properties                                     |
      | web  | w1      | public     | type=web, hw_disk_bus=virtio, os_distro=debian |

  Scenario: what Glance copies of its own accord goes again when it is not synchronised
    Given the setting "metadata_set=type"
    When I run glancesync Paris
    Then the exit status is 0
    And Paris has exactly these images:
      | name | content | visibility | properties |
      | web  | w1      | public     | type=web   |

  Scenario: a target that says never streams
    Given the setting "server_side_copy=never"
    When I run glancesync Paris
    Then the output is:
      """
      Paris: uploaded web (2.0 KiB)
      """
    And Paris has exactly these images:
      | name | content |
      | web  | w1      |
