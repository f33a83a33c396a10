"""Links planted by another account in a shared folder, for the tests of §9's file rules.

`shared_folder()` makes a folder like /tmp (world-writable, sticky) and removes it at the end;
`plant_link(link, target)` makes the symbolic link as user `nobody` when the tests run as root
and `nobody` exists (the attack itself: another account's link in a folder both may write),
else directly. This host has fs.protected_symlinks = 0, so a link of nobody's in a sticky
folder is followed by root unless the tool refuses it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    NOBODY: pwd.struct_passwd | None = pwd.getpwnam("nobody")
except KeyError:
    NOBODY = None
AS_NOBODY = NOBODY is not None and os.geteuid() == 0


@contextmanager
def shared_folder() -> Iterator[Path]:
    """A new sticky folder that every account may write (mode 1777), under /tmp."""
    path = Path(tempfile.mkdtemp(prefix="glancesync-shared-", dir="/tmp"))
    try:
        path.chmod(0o1777)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def plant_link(link: Path, target: Path) -> None:
    """A symbolic link `link` -> `target`, made by nobody if it can be."""
    if not AS_NOBODY:
        os.symlink(target, link)
        return
    subprocess.run(
        ["ln", "-s", str(target), str(link)], user="nobody", group=NOBODY.pw_gid, check=True
    )
    assert link.lstat().st_uid == NOBODY.pw_uid
