"""Small helpers that read the configuration from the environment.

Every setting of a production deployment comes from the environment (or from a
file named by an ``*_FILE`` variable, for secrets); the embedded default needs
none of them.
"""

import os
import secrets
from pathlib import Path


def env(name: str, default: str = "") -> str:
    """Return ``NAME``, or the content of the file named by ``NAME_FILE``."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        return Path(file_name).read_text(encoding="utf-8").strip()
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if not value:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on", "oui"}


def env_int(name: str, default: int) -> int:
    value = env(name)
    return int(value) if value else default


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = env(name)
    if not value:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def generated_secret(path: Path, length: int = 64) -> str:
    """Read a secret kept under ``var/``, creating it on first use.

    Used only by the embedded default, so that ``make run`` needs no
    configuration while no secret is ever committed.
    """
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(length)
    # Create with 0600 so that other users of the machine cannot read it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value)
    return value
