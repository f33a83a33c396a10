"""Entry point: `python3 tools/localcloud <command>` (standard library only)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from localcloud.cli import main  # noqa: E402

sys.exit(main())
