Feature: Obsolete images
  Renaming a master image X to X_obsolete retires it. X_obsolete is never uploaded; in each
  region the project's own X with the same content is renamed X_obsolete, and its visibility
  and the properties of obsolete_syncprops follow the master. Nothing is deleted.

  Background:
    Given Madrid has these images:
      | name          | content | visibility | properties                      |
      | base_obsolete | v1      | private    | type=base, retired=2024-05      |
    And the setting "obsolete_syncprops=retired"

  Scenario: the regional image is renamed and follows the master's visibility
    Given Lisbon has these images:
      | name | content | visibility | properties          |
      | base | v1      | public     | type=base, local=me |
    When I run glancesync --show-status Lisbon
    Then the output is:
      """
      pending_metadata,Lisbon,base_obsolete
      """
    When I run glancesync Lisbon
    Then the exit status is 0
    And Lisbon has exactly these images:
      | name          | content | visibility | properties                                |
      | base_obsolete | v1      | private    | type=base, local=me, retired=2024-05, glancesync_retired_at=*, glancesync_retired_by=glancesync obsolete, glancesync_retired_id=* |
    When I run glancesync --show-status Lisbon
    Then the output is:
      """
      ok,Lisbon,base_obsolete
      """

  Scenario: an image already renamed gets the master's metadata
    Given Lisbon has these images:
      | name          | content | visibility | properties |
      | base_obsolete | v1      | public     | type=base  |
    When I run glancesync Lisbon
    Then the image base_obsolete in Lisbon was updated in place
    And Lisbon has exactly these images:
      | name          | visibility | properties                 |
      | base_obsolete | private    | type=base, retired=2024-05 |

  Scenario: another project's image and other content are left alone
    Given Lisbon has these images:
      | name | content | owner   | visibility |
      | base | v1      | tenant2 | shared     |
    And Paris has these images:
      | name | content |
      | base | v0      |
    When I run glancesync Lisbon Paris
    Then the exit status is 0
    And the output is empty
    And nothing was written to Glance

  Scenario: without support_obsolete_images nothing is renamed
    Given Lisbon has these images:
      | name | content |
      | base | v1      |
    And the setting "support_obsolete_images=false"
    When I run glancesync Lisbon
    Then the output is empty
    And nothing was written to Glance

  Scenario: an obsolete image is never uploaded
    When I run glancesync
    Then the output is empty
    And the exit status is 0
    And nothing was written to Glance

  Scenario: when the master also synchronises X, X_obsolete is ignored with a warning
    Given Madrid has these images:
      | name | content | properties |
      | base | v2      | type=base  |
    And Lisbon has these images:
      | name | content |
      | base | v1      |
    And the setting "rename=any"
    When I run glancesync Lisbon
    Then the errors mention "base_obsolete ignored"
    And Lisbon has exactly these images:
      | name     | content |
      | base     | v2      |
      | base.old | v1      |

  Scenario: a retired image is not renamed onto an existing X_obsolete
    Given Lisbon has these images:
      | name          | content | visibility |
      | base          | v1      | private    |
      | base_obsolete | v1      | private    |
    When I run glancesync Lisbon
    Then the errors mention "base_obsolete"
    And Lisbon has exactly these images:
      | name          | content |
      | base          | v1      |
      | base_obsolete | v1      |
