Feature: Shared images keep their members
  A master image shared with a few projects (visibility shared, with members) arrives in the
  regions shared with the same projects, so they can boot it there. In a region of the master's
  Keystone the members are the same projects; in a partner's Keystone they are the projects of
  the same name. A project the partner does not have is warned about, never guessed. A second
  run changes no member, members that only a region has stay unless the target says
  sync_members = mirror, and whether a project accepted the image is that project's decision.

  Background:
    Given the Keystone of Lisbon has the project lonely
    And the Keystone of other:Berlin has the project tenant2
    And Madrid has these images:
      | name | content | visibility |
      | app  | v1      | shared     |
    And the image app in Madrid is shared with tenant2 and lonely
    And the setting "forcesyncs={id of app}"

  Scenario: the copies are shared with the same projects, by name in the partner's Keystone
    When I run glancesync Lisbon other:Berlin
    Then the exit status is 0
    And the errors mention "app: member"
    And the errors mention "not shared: no project 'lonely' in domain 'Default' of target other"
    And the image app in Lisbon is shared with:
      | project | status  |
      | tenant2 | pending |
      | lonely  | pending |
    And the image app in other:Berlin is shared with:
      | project | status  |
      | tenant2 | pending |
    When I run glancesync Lisbon other:Berlin
    Then the exit status is 0
    And the last run added or removed no member
    And nothing was written to Glance

  Scenario: a dry run names the members it would add
    Given Lisbon has these images:
      | name | content | visibility |
      | app  | v1      | shared     |
    And the image app in Lisbon is shared with tenant2
    When I run glancesync --dry-run Lisbon
    Then the output is, with the project ids of Lisbon:
      """
      Lisbon: would update metadata of app: add member(s) {project of lonely}
      """
    And the last run added or removed no member

  Scenario: a project's acceptance survives a run that adds a member
    Given I run glancesync Lisbon
    And tenant2 accepted the image app in Lisbon
    And the Keystone of Lisbon has the project bystander
    And the image app in Madrid is shared with bystander
    When I run glancesync Lisbon
    Then the exit status is 0
    And the image app in Lisbon is shared with:
      | project   | status   |
      | tenant2   | accepted |
      | lonely    | pending  |
      | bystander | pending  |

  Scenario: a member only the region has stays, unless the target mirrors the master
    Given I run glancesync Lisbon
    And the Keystone of Lisbon has the project bystander
    And the image app in Lisbon is shared with bystander
    When I run glancesync Lisbon
    Then the last run added or removed no member
    And the image app in Lisbon is shared with:
      | project   | status  |
      | tenant2   | pending |
      | lonely    | pending |
      | bystander | pending |
    When I run glancesync Lisbon --config sync_members=mirror
    Then the image app in Lisbon is shared with:
      | project | status  |
      | tenant2 | pending |
      | lonely  | pending |
