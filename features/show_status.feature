Feature: Status of every image in every region
  --show-status compares each synchronised master image with its namesake in a region and
  prints one CSV line per image: status,region,image. It writes nothing.

  Background:
    Given Madrid has these images:
      | name | content | properties |
      | base | v2      | type=base  |

  Scenario: an image missing from the region is pending upload
    When I run glancesync --show-status Lisbon
    Then the output is:
      """
      pending_upload,Lisbon,base
      """
    And the exit status is 0
    And nothing was written to Glance

  Scenario: an identical copy is ok
    Given Lisbon has a copy of the master image base
    When I run glancesync --show-status Lisbon
    Then the output is:
      """
      ok,Lisbon,base
      """

  Scenario: same content with other properties is pending metadata
    Given Lisbon has these images:
      | name | content | properties |
      | base | v2      | type=old   |
    When I run glancesync --show-status Lisbon
    Then the output is:
      """
      pending_metadata,Lisbon,base
      """
    And nothing was written to Glance

  Scenario: same content with another visibility is pending metadata
    Given Lisbon has these images:
      | name | content | visibility | properties |
      | base | v2      | private    | type=base  |
    When I run glancesync --show-status Lisbon
    Then the output is:
      """
      pending_metadata,Lisbon,base
      """

  Scenario: other content without a rule is an error for the operator
    Given Lisbon has these images:
      | name | content | properties |
      | base | v1      | type=base  |
    When I run glancesync --show-status Lisbon
    Then the output is:
      """
      error_checksum,Lisbon,base
      """
    And the exit status is 4

  Scenario Outline: other content with a conflict rule: <rule>
    Given Lisbon has these images:
      | name | content | properties |
      | base | v1      | type=base  |
    And the setting "<rule>"
    When I run glancesync --show-status Lisbon
    Then the output is:
      """
      <status>,Lisbon,base
      """
    And the exit status is 0
    And nothing was written to Glance

    Examples:
      | rule                            | status              |
      | dontupdate={checksum of v1}     | ok_stalled_checksum |
      | rename={checksum of v1}         | pending_rename      |
      | replace={checksum of v1}        | pending_replace     |
      | dontupdate=any                  | ok_stalled_checksum |
      | rename=any                      | pending_rename      |
      | replace=any                     | pending_replace     |

  Scenario: lines come region by region, smaller images first
    Given Madrid has these images:
      | name   | size  | properties |
      | tiny   | 1 KiB | type=base  |
      | large  | 8 KiB | type=base  |
    And Paris has a copy of the master image large
    When I run glancesync --show-status
    Then the output is:
      """
      pending_upload,Lisbon,tiny
      pending_upload,Lisbon,base
      pending_upload,Lisbon,large
      pending_upload,Paris,tiny
      pending_upload,Paris,base
      ok,Paris,large
      """

  Scenario: regions of another target show with their full name
    Given other:Rome has a copy of the master image base
    When I run glancesync --show-status other:
    Then the output is:
      """
      pending_upload,other:Berlin,base
      ok,other:Rome,base
      """

  Scenario: an unknown region is a failed line, an image-less one
    When I run glancesync --show-status Lisbon Atlantis
    Then the output is:
      """
      failed,Atlantis,
      pending_upload,Lisbon,base
      """
    And the errors mention "Atlantis"
    And the exit status is 1

  Scenario: a name with a comma is quoted as CSV wants
    Given Madrid has these images:
      | name      | content | properties |
      | web, blue | web     | type=web   |
    When I run glancesync --show-status Lisbon
    Then the output is:
      """
      pending_upload,Lisbon,base
      pending_upload,Lisbon,"web, blue"
      """
