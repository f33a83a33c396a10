"""glancesync: keep the Glance images of a federation of OpenStack clouds in sync."""

__version__ = "0.1.0"
