Feature: Duplicate names and images of other projects
  A name is the identity of an image across regions, so duplicates must not confuse the sync.
  Images of other projects (here tenant2) are ignored in the master, and in the regions too
  while only_tenant_images is true (the default).

  Scenario: names duplicated in the master are left out with a warning
    Given Madrid has these images:
      | name  | content |
      | twice | first   |
      | twice | second  |
      | once  | once    |
    When I run glancesync Lisbon
    Then the exit status is 0
    And the errors mention "twice"
    And Lisbon has exactly these images:
      | name |
      | once |

  Scenario: of two regional images with the master's name, the one with its content is kept
    Given Madrid has these images:
      | name | content |
      | base | good    |
    And Lisbon has these images:
      | name | content | visibility |
      | base | stale   | private    |
      | base | good    | public     |
    When I run glancesync --show-status Lisbon
    Then the output is:
      """
      ok,Lisbon,base
      """
    And the errors mention "2 images named base"
    When I run glancesync Lisbon
    Then the exit status is 0
    And nothing was written to Glance

  Scenario: images of another project in the master are not synchronised
    Given Madrid has these images:
      | name   | owner   | visibility |
      | theirs | tenant2 | shared     |
      | ours   |         | public     |
    When I run glancesync Lisbon
    Then Lisbon has exactly these images:
      | name |
      | ours |

  Scenario: a regional namesake of another project is ignored by default
    Given Madrid has these images:
      | name | content |
      | base | good    |
    And Lisbon has these images:
      | name | content | owner   | visibility |
      | base | theirs  | tenant2 | private    |
    When I run glancesync Lisbon
    Then the exit status is 0
    And the errors mention "only_tenant_images"
    And Lisbon has exactly these images:
      | name | content | owner   |
      | base | good    | master  |
      | base | theirs  | tenant2 |

  Scenario: with only_tenant_images false another project's namesake is considered
    Given Madrid has these images:
      | name | content |
      | base | good    |
    And Lisbon has these images:
      | name | content | owner   | visibility |
      | base | theirs  | tenant2 | private    |
    And the setting "only_tenant_images=false"
    When I run glancesync --show-status Lisbon
    Then the output is:
      """
      error_checksum,Lisbon,base
      """
    And the exit status is 4

  Scenario: with only_tenant_images false another project's copy counts as synchronised
    Given Madrid has these images:
      | name | content |
      | base | good    |
    And Lisbon has these images:
      | name | content | owner   | visibility |
      | base | good    | tenant2 | public     |
    And the setting "only_tenant_images=false"
    When I run glancesync Lisbon
    Then the output is empty
    And nothing was written to Glance
