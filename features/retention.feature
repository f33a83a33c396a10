Feature: Retention of retired copies
  Every rename leaves a <name>.old copy and every retirement a <name>_obsolete copy in the
  regions. glancesync marks the copies it retires, with when and by which rule. A target that
  sets purge_after has them deleted once they are older than that: oldest first, at most
  max_purge per region and run. A copy glancesync did not retire, another project's, a
  protected one and a fresh one are never deleted.

  Background:
    Given Lisbon has these images:
      | name         | visibility | owner   | protected | properties                                                                          |
      | a.old        | private    |         | false     | glancesync_retired_at={time of 40 days ago}, glancesync_retired_by=glancesync rename |
      | b.old        | private    |         | false     | glancesync_retired_at={time of 35 days ago}, glancesync_retired_by=glancesync rename |
      | c_obsolete   | private    |         | false     | glancesync_retired_at={time of 50 days ago}, glancesync_retired_by=glancesync obsolete |
      | fresh.old    | private    |         | false     | glancesync_retired_at={time of 2 days ago}, glancesync_retired_by=glancesync rename  |
      | handmade.old | private    |         | false     |                                                                                     |
      | theirs.old   | private    | tenant2 | false     | glancesync_retired_at={time of 90 days ago}, glancesync_retired_by=glancesync rename |
      | locked.old   | private    |         | true      | glancesync_retired_at={time of 90 days ago}, glancesync_retired_by=glancesync rename |

  Scenario: without purge_after retired copies are kept for ever
    When I run glancesync Lisbon
    Then the exit status is 0
    And nothing was written to Glance

  Scenario: a dry run lists what would be deleted and why, and deletes nothing
    Given the settings:
      | key         | value |
      | purge_after | 30d   |
    When I run glancesync --dry-run Lisbon
    Then the output is:
      """
      Lisbon: would delete retired copy c_obsolete (retired 50d ago by glancesync obsolete; purge_after = 30d)
      Lisbon: would delete retired copy a.old (retired 40d ago by glancesync rename; purge_after = 30d)
      Lisbon: would delete retired copy b.old (retired 35d ago by glancesync rename; purge_after = 30d)
      """
    And nothing was written to Glance

  Scenario: the oldest copies go first, at most max_purge a run; the next run takes the rest
    Given the settings:
      | key         | value |
      | purge_after | 30d   |
      | max_purge   | 2     |
    When I run glancesync --show-status Lisbon
    Then the output is:
      """
      pending_purge,Lisbon,c_obsolete
      pending_purge,Lisbon,a.old
      pending_purge,Lisbon,b.old
      """
    When I run glancesync Lisbon
    Then the exit status is 0
    And the errors mention "1 retired copy due for deletion left for the next run (max_purge = 2)"
    And Lisbon has exactly these images:
      | name         |
      | b.old        |
      | fresh.old    |
      | handmade.old |
      | theirs.old   |
      | locked.old   |
    When I run glancesync Lisbon
    Then the exit status is 0
    And Lisbon has exactly these images:
      | name         |
      | fresh.old    |
      | handmade.old |
      | theirs.old   |
      | locked.old   |

  Scenario: max_purge 0 reports the copies due and deletes none
    Given the settings:
      | key         | value |
      | purge_after | 30d   |
      | max_purge   | 0     |
    When I run glancesync Lisbon
    Then the exit status is 0
    And the errors mention "3 retired copies due for deletion left for the next run (max_purge = 0)"
    And nothing was written to Glance

  Scenario: a copy retired before glancesync marked it ages from the first run that sees it
    Given the settings:
      | key            | value |
      | purge_after    | 0s    |
      | purge_unmarked | true  |
    When I run glancesync --show-status Lisbon
    Then the output is:
      """
      pending_purge,Lisbon,c_obsolete
      pending_purge,Lisbon,a.old
      pending_purge,Lisbon,b.old
      pending_purge,Lisbon,fresh.old
      pending_metadata,Lisbon,handmade.old
      """
    When I run glancesync Lisbon
    Then Lisbon has exactly these images:
      | name         |
      | handmade.old |
      | theirs.old   |
      | locked.old   |
    When I run glancesync Lisbon
    Then Lisbon has exactly these images:
      | name       |
      | theirs.old |
      | locked.old |
