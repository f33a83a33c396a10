"""gunicorn entry point for Glance; its configuration directory is $OS_GLANCE_CONFIG_DIR."""

import sys

# oslo.config would parse gunicorn's own arguments: hide them before Glance loads.
sys.argv = sys.argv[:1]

from glance.wsgi.api import application  # noqa: E402

__all__ = ["application"]
