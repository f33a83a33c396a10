"""The features' test harness: the local cloud (tools/localcloud), images arranged and inspected
directly in Glance with keystoneauth1 and python-glanceclient, and glancesync run as a command.
Nothing here imports glancesync: the tool is only ever seen from the outside."""
