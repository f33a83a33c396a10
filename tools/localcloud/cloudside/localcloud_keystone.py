"""gunicorn entry point for Keystone; its configuration directory is $OS_KEYSTONE_CONFIG_DIR."""

import sys

# oslo.config would parse gunicorn's own arguments: hide them before Keystone loads.
sys.argv = sys.argv[:1]

from keystone.wsgi.api import application  # noqa: E402

__all__ = ["application"]
