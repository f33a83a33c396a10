"""A local OpenStack cloud (Keystone + Glance from PyPI, under gunicorn) for glancesync's tests."""
