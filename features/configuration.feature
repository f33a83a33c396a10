Feature: Configuration, credentials and the run lock
  A configuration error is one message naming the key, exit status 2, and nothing contacted
  or changed. Passwords never show, whatever the verbosity. Settings come from the file,
  --config overrides or, with no file, the openrc variables. A run that may write holds a lock:
  a second one exits with status 3.

  Background:
    Given Madrid has these images:
      | name | properties |
      | base | type=base  |

  Scenario Outline: a configuration error changes nothing (<setting>)
    Given the setting "<setting>"
    When I run glancesync Lisbon
    Then the exit status is 2
    And the errors mention "<message>"
    And nothing was written to Glance

    Examples:
      | setting                                                   | message                      |
      | metadata_sett=type                                        | did you mean 'metadata_set'? |
      | only_tenant_images=perhaps                                | only_tenant_images           |
      | metadata_condition=__import__('os').system('touch owned') | metadata_condition           |

  Scenario: refused credentials change nothing and do not show the password
    Given the setting "master.password=not-the-password"
    When I run glancesync Lisbon
    Then the exit status is 2
    And the errors mention "refused"
    And nothing was written to Glance
    And no password appears in the output or the errors

  Scenario: passwords do not show even when debugging
    When I run glancesync -vv Lisbon other:Rome
    Then the exit status is 0
    And no password appears in the output or the errors

  Scenario: a bare --config value overrides the value of a target section
    Given the configuration file has in section [master]:
      | key          | value   |
      | metadata_set | flavour |
    And the setting "metadata_set=type"
    When I run glancesync Lisbon
    Then the exit status is 0
    And Lisbon has exactly these images:
      | name | properties |
      | base | type=base  |

  Scenario: a % in a value is literal
    Given the configuration file has in section [master]:
      | key                | value                                              |
      | metadata_condition | image.user_properties.get('type') == '100%base'    |
    And Madrid has these images:
      | name    | properties     |
      | percent | type=100%base  |
    When I run glancesync Lisbon
    Then the exit status is 0
    And Lisbon has exactly these images:
      | name    | properties    |
      | percent | type=100%base |

  Scenario: without a configuration file the openrc variables are enough
    When I run glancesync Lisbon with only the openrc of master
    Then the exit status is 0
    And Lisbon has exactly these images:
      | name | properties |
      | base | type=base  |

  Scenario: a target can be defined on the command line alone
    Given the settings:
      | key            | value                   |
      | third.user     | otheradmin              |
      | third.password | {password of other}     |
      | third.auth_url | {auth_url of other}     |
      | third.project  | admin                   |
    When I run glancesync third:Rome
    Then the output is:
      """
      third:Rome: uploaded base (4.0 KiB)
      """
    And no password appears in the output or the errors

  Scenario: a sync while another run holds the lock changes nothing, exit status 3
    Given another glancesync run holds the lock
    When I run glancesync Lisbon
    Then the exit status is 3
    And nothing was written to Glance

  Scenario: reading runs alongside a run that holds the lock
    Given another glancesync run holds the lock
    When I run glancesync --show-status Lisbon
    Then the output is:
      """
      pending_upload,Lisbon,base
      """
    And the exit status is 0
