#!/usr/bin/env python3
"""Start ozg-shop on a fresh machine that has only Python 3.11 and pip.

    python3 run.py demo     # installs, prepares the database, starts worker, beat and web server
    python3 run.py test     # installs, runs the whole test suite against real PostgreSQL

Everything else (``python3 run.py manage <command>``) is passed to ``manage.py``.
The first run creates ``.venv`` and installs the dependencies listed in
``pyproject.toml``; later runs reinstall only when that list changed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".ozg-requirements.sha256"


def _requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [*project["dependencies"], *project["optional-dependencies"]["dev"]]


def ensure_venv() -> None:
    requirements = _requirements()
    digest = hashlib.sha256("\n".join(requirements).encode()).hexdigest()
    if not VENV_PYTHON.exists():
        print("» Lege virtuelle Umgebung an (.venv) …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if STAMP.exists() and STAMP.read_text().strip() == digest:
        return
    print("» Installiere Abhängigkeiten …", flush=True)
    subprocess.run(
        [str(VENV_PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements],
        check=True,
    )
    STAMP.write_text(digest)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "manage"}:
        print(__doc__)
        return 2
    if Path(sys.prefix).resolve() != VENV.resolve():
        ensure_venv()
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), str(Path(__file__).resolve()), *argv])

    os.chdir(ROOT)
    command, rest = argv[0], argv[1:]
    if command == "demo":
        return subprocess.call([sys.executable, "manage.py", "demo", *rest])
    if command == "manage":
        return subprocess.call([sys.executable, "manage.py", *rest])
    return subprocess.call([sys.executable, "-m", "pytest", *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
