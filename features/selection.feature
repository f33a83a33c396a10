Feature: Which master images are synchronised
  Public images are synchronised; private ones only when forced (forcesyncs, by master UUID)
  or chosen by metadata_condition. metadata_set names the properties that matter: only images
  with one of them are synchronised, and only those properties are copied.

  Background:
    Given Madrid has these images:
      | name    | visibility | properties                  |
      | public1 | public     | type=base, nid=7, team=ops |
      | public2 | public     | nid=8                       |
      | secret  | private    | type=gpu                    |

  Scenario: private images stay in the master
    When I run glancesync Lisbon
    Then the exit status is 0
    And Lisbon has exactly these images:
      | name    | visibility | properties                  |
      | public1 | public     | type=base, nid=7, team=ops |
      | public2 | public     | nid=8                       |

  Scenario: a forced private image is synchronised and stays private
    Given the setting "forcesyncs={id of secret}"
    When I run glancesync Lisbon
    Then Lisbon has exactly these images:
      | name    | visibility | content |
      | public1 | public     | public1 |
      | public2 | public     | public2 |
      | secret  | private    | secret  |

  Scenario: metadata_condition chooses the images, private ones included
    Given the setting "metadata_condition=image.user_properties.get('type') in ('gpu', 'base')"
    When I run glancesync Lisbon
    Then Lisbon has exactly these images:
      | name    | visibility |
      | public1 | public     |
      | secret  | private    |

  Scenario: with one key in metadata_set, only images with it go, with only that property
    Given the setting "metadata_set=type"
    When I run glancesync Lisbon
    Then Lisbon has exactly these images:
      | name    | properties |
      | public1 | type=base  |

  Scenario: with several keys in metadata_set, an image with any of them goes
    Given the setting "metadata_set=type, nid"
    When I run glancesync Lisbon
    Then Lisbon has exactly these images:
      | name    | properties       |
      | public1 | type=base, nid=7 |
      | public2 | nid=8            |

  Scenario: a metadata_set key that no image has synchronises nothing
    Given the setting "metadata_set=flavour"
    When I run glancesync Lisbon
    Then the output is empty
    And the exit status is 0
    And nothing was written to Glance

  Scenario: an empty metadata_set copies every property
    Given the setting "metadata_set="
    When I run glancesync Lisbon
    Then Lisbon has exactly these images:
      | name    | properties                  |
      | public1 | type=base, nid=7, team=ops |
      | public2 | nid=8                       |

  Scenario: a condition on a property some images lack simply excludes them
    Given the setting "metadata_condition=image.user_properties['type'] == 'gpu'"
    When I run glancesync Lisbon
    Then the exit status is 0
    And Lisbon has exactly these images:
      | name   | visibility |
      | secret | private    |

  Scenario: an image still being uploaded to the master is not synchronised
    Given Madrid has these images:
      | name    | status |
      | pending | queued |
    When I run glancesync Lisbon
    Then the exit status is 0
    And Lisbon has exactly these images:
      | name    |
      | public1 |
      | public2 |
