Feature: Formats are known, not guessed
  No image leaves the master for a region unless its bytes are what its disk_format says and
  pass the safety checks of the format inspector that Glance and Nova use. A refused image is
  error_format in every region, and the run exits 1.

  Scenario: a qcow2 whose backing file is a host path reaches no region
    Given Madrid has the test images good-raw and qcow2-backing-file
    When I run glancesync Lisbon Paris
    Then the exit status is 1
    And Lisbon and Paris have exactly these images:
      | name    |
      | good-raw |
    And the errors mention "1 image refused for its format (error_format)"

  Scenario: a refusal is remembered: later runs read nothing and show the status
    Given Madrid has the test image qcow2-declared-raw
    And I run glancesync Lisbon
    When I run glancesync --show-status Lisbon Paris
    Then the output is:
      """
      error_format,Lisbon,qcow2-declared-raw
      error_format,Paris,qcow2-declared-raw
      """
    And the exit status is 1
    And nothing was written to Glance

  Scenario: an audit names each image's verdict and copies nothing
    Given Madrid has the test images good-raw and vmdk-host-extent
    When I run glancesync --check-formats
    Then the output is, in any order:
      """
      accepted,good-raw,raw/bare,raw,
      refused,vmdk-host-extent,vmdk/ovf,vmdk,vmdk safety check descriptor failed: Invalid extent filenames found
      """
    And the exit status is 1
    And nothing was written to Glance
