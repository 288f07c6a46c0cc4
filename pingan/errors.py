"""Errors that carry enough context (file, row, key) for a person to fix the input."""

from __future__ import annotations

import tomllib
from pathlib import Path


class ConfigError(ValueError):
    """A configuration, organisation or taxonomy file is invalid; the message names where."""


def read_toml(path: str | Path) -> dict:
    """Parse a TOML file; unreadable or malformed files raise ConfigError naming the file."""
    try:
        return tomllib.loads(Path(path).read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
