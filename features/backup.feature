Feature: Backup of the image metadata
  --make-backup writes one CSV of image metadata per region, and one for the master, into a
  new directory. It changes nothing in Glance.

  Scenario Outline: one CSV per region and for the master, nothing written to Glance (<options>)
    Given Madrid has these images:
      | name | properties |
      | base | type=base  |
    And Lisbon has a copy of the master image base
    When I run glancesync <options> --make-backup --backup-dir backups Lisbon other:Rome
    Then the exit status is 0
    And a new directory in backups holds the files Madrid.csv, Lisbon.csv and other%3ARome.csv
    And nothing was written to Glance

    Examples:
      | options                   |
      | -q                        |
      | --parallel --run-dir runs |
