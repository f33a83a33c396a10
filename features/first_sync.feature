Feature: First synchronisation of the master's images
  A plain run copies every public image of the master region Madrid to the other regions of
  the master target, with the same content, visibility and properties, and leaves alone the
  images already in line. Paris's Glance offers glance-download: it copies each image from
  Madrid by itself, and glancesync only verifies the copy; Lisbon's bytes pass through the
  sync host.

  Background:
    Given Madrid has these images:
      | name   | content | size  | properties         |
      | ubuntu | u22     | 3 KiB | type=base, nid=101 |
      | debian | d12     | 1 KiB | type=base, nid=102 |
      | tools  | t1      | 2 KiB | type=tooling       |

  Scenario: every image reaches every region, smallest first
    When I run glancesync
    Then the output is:
      """
      Lisbon: uploaded debian (1.0 KiB)
      Lisbon: uploaded tools (2.0 KiB)
      Lisbon: uploaded ubuntu (3.0 KiB)
      Paris: uploaded debian (1.0 KiB, copied by glance-download)
      Paris: uploaded tools (2.0 KiB, copied by glance-download)
      Paris: uploaded ubuntu (3.0 KiB, copied by glance-download)
      """
    And the exit status is 0
    And Lisbon and Paris have exactly these images:
      | name   | content | visibility | owner  | properties         |
      | ubuntu | u22     | public     | master | type=base, nid=101 |
      | debian | d12     | public     | master | type=base, nid=102 |
      | tools  | t1      | public     | master | type=tooling       |
    And nothing changed in Madrid, other:Berlin and other:Rome

  Scenario: synchronised images are not touched
    Given Lisbon and Paris have copies of the master images
    When I run glancesync
    Then the output is empty
    And the exit status is 0
    And nothing was written to Glance

  Scenario: a second run has nothing left to do
    Given I run glancesync
    When I run glancesync
    Then the output is empty
    And nothing was written to Glance
    When I run glancesync --show-status
    Then the output is:
      """
      ok,Lisbon,debian
      ok,Lisbon,tools
      ok,Lisbon,ubuntu
      ok,Paris,debian
      ok,Paris,tools
      ok,Paris,ubuntu
      """

  Scenario: a new image among synchronised ones is the only upload
    Given Lisbon and Paris have copies of the master images
    And Madrid has these images:
      | name   | content | properties |
      | centos | c9      | type=base  |
    When I run glancesync
    Then the output is:
      """
      Lisbon: uploaded centos (4.0 KiB)
      Paris: uploaded centos (4.0 KiB, copied by glance-download)
      """
    And the images ubuntu, debian and tools in Lisbon and Paris were not touched
    And Lisbon and Paris have exactly these images:
      | name   | content |
      | ubuntu | u22     |
      | debian | d12     |
      | tools  | t1      |
      | centos | c9      |

  Scenario: an unfinished regional image does not count: a fresh copy is uploaded
    Given Lisbon has these images:
      | name   | status |
      | ubuntu | queued |
    When I run glancesync Lisbon
    Then the errors mention "status queued"
    And Lisbon has exactly these images:
      | name   | content | status |
      | ubuntu |         | queued |
      | ubuntu | u22     | active |
      | debian | d12     | active |
      | tools  | t1      | active |

  Scenario: tags, minimums and protection travel with the image
    Given Madrid has these images:
      | name  | content | tags        | min_ram | min_disk | protected |
      | vault | v1      | gold secure | 1024    | 10       | true      |
    When I run glancesync Lisbon
    Then the exit status is 0
    And Lisbon has exactly these images:
      | name   | content | tags        | min_ram | min_disk | protected |
      | ubuntu | u22     |             | 0       | 0        | false     |
      | debian | d12     |             | 0       | 0        | false     |
      | tools  | t1      |             | 0       | 0        | false     |
      | vault  | v1      | gold secure | 1024    | 10       | true      |
