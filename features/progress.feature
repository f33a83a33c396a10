Feature: Progress on a terminal
  An operator who runs a sync by hand sees, on stderr, a bar per upload (bytes, rate, time
  left) and a line per region counting its actions; under --parallel, one line counting the
  regions that ended. Nothing is drawn when stdout or stderr is not a terminal (cron, a pipe),
  nor with -q. The bars are tqdm's; the runs below have a pseudo-terminal from `script`.

  Background:
    Given Madrid has these images:
      | name  | content | size  |
      | big   | b1      | 8 MiB |
      | small | s1      | 1 KiB |

  Scenario: a sync in a terminal draws a bar per upload and a line for the region
    When I run glancesync Lisbon in a terminal
    Then the exit status is 0
    And the terminal showed a progress bar for the upload of small to Lisbon
    And the terminal showed a progress bar for the upload of big to Lisbon
    And the terminal showed the line of Lisbon counting 2 action
    And the terminal showed "Lisbon: uploaded big (8.0 MiB)" once
    And the terminal showed "Lisbon: 2 ok; did 2 action(s), 8.0 MiB uploaded" once
    And Lisbon has exactly these images:
      | name  | content |
      | big   | b1      |
      | small | s1      |

  Scenario: without a terminal nothing is drawn
    When I run glancesync Lisbon
    Then the exit status is 0
    And nothing was drawn
    And the output is:
      """
      Lisbon: uploaded small (1.0 KiB)
      Lisbon: uploaded big (8.0 MiB)
      """

  Scenario: -q draws nothing, even in a terminal
    When I run glancesync Lisbon -q in a terminal
    Then the exit status is 0
    And nothing was drawn
    And the terminal showed "Lisbon: uploaded big (8.0 MiB)"

  Scenario: under --parallel a terminal shows a line counting the regions
    When I run glancesync Lisbon Paris --parallel in a terminal
    Then the exit status is 0
    And the terminal showed the line of regions counting 2 region
    And Lisbon and Paris have exactly these images:
      | name  | content |
      | big   | b1      |
      | small | s1      |
