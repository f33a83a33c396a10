"""The local cloud's virtual environment, installed once and reused while its pins do not change."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .errors import CloudError, tail

REQUIREMENTS = Path(__file__).resolve().parent / "requirements.lock"
MARKER = ".localcloud-requirements"


def requirements_hash() -> str:
    """Hash of the locked requirements and of the Python version that runs them."""
    text = REQUIREMENTS.read_text() + "python{}.{}".format(*sys.version_info[:2])
    return hashlib.sha256(text.encode()).hexdigest()


def is_current(venv: Path) -> bool:
    marker = venv / MARKER
    return marker.exists() and marker.read_text().strip() == requirements_hash()


def ensure(venv: Path) -> None:
    """Create the venv, or recreate it if the locked requirements changed."""
    if is_current(venv):
        return
    shutil.rmtree(venv, ignore_errors=True)
    log = venv.parent / "install.log"
    print(f"installing Keystone and Glance into {venv} (log: {log})", file=sys.stderr, flush=True)
    _run([sys.executable, "-m", "venv", str(venv)], log)
    pip = [str(venv / "bin" / "pip"), "install", "--disable-pip-version-check", "-q"]
    # Every version is locked: no resolution needed. Bytecode is written on first import.
    _run([*pip, "--no-deps", "--no-compile", "-r", str(REQUIREMENTS)], log)
    (venv / MARKER).write_text(requirements_hash() + "\n")


def _run(command: list[str], log: Path) -> None:
    with log.open("a") as out:
        result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
    if result.returncode:
        raise CloudError(f"{' '.join(command[:3])} failed; see {log}\n{tail(log)}")


def environment() -> dict[str, str]:
    """Environment of the cloud's processes: quiet warnings, bytecode cached in the venv."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONWARNINGS": "ignore"}
