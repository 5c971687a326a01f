"""The developer machine's own settings file, `var/.env`.

`make run` writes it once (DEBUG=1 and a generated SECRET_KEY), so that
`python manage.py …` works bare on a laptop, as the README writes it. Settings
read it when it exists; a variable set in the environment always wins. A
production host has no such file (var/ is not deployed), so there DEBUG stays off
and start-up still refuses to go on without a SECRET_KEY.

    python -m config.local_env    # write the file if it is missing (what `make run` does)

No Django import here: settings call `load` before Django is configured.
"""
from __future__ import annotations

import os
import re
import secrets
import sys
from pathlib import Path

FILE_NAME = ".env"
_LINE = re.compile(r"^\s*([A-Z][A-Z0-9_]*)\s*=\s*(.*?)\s*$")


def local_env_path(var_dir: Path) -> Path:
    return var_dir / FILE_NAME


def load(path: Path) -> list[str]:
    """Put the file's `NAME=value` lines into os.environ where the name is not set yet.

    Returns the names taken from the file. Blank lines and `#` comments are skipped;
    a line that is neither stops start-up, naming the file and the line."""
    if not path.is_file():
        return []
    taken = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            from django.core.exceptions import ImproperlyConfigured

            raise ImproperlyConfigured(f"{path}, line {number}: expected NAME=value")
        name, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if name not in os.environ:
            os.environ[name] = value
            taken.append(name)
    return taken


def write(path: Path) -> bool:
    """Write a development settings file at `path` unless one exists; True if written."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    body = (
        "# Settings of this development machine, written by `make run`; read by config/settings.py.\n"
        "# Variables set in the environment win over these. Never deploy this file.\n"
        "DEBUG=1\n"
        f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
    )
    # Created readable by its owner only: it holds the secret key.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(body)
    return True


def main() -> int:
    base = Path(__file__).resolve().parent.parent
    var_dir = Path(os.environ.get("RUNSIGHT_VAR_DIR") or base / "var")
    path = local_env_path(var_dir)
    if write(path):
        print(f"Wrote {path} (DEBUG=1 and a generated SECRET_KEY) for this development machine.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
