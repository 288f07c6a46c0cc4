"""Errors that carry enough context (file, row, key) for a person to fix the input."""


class ConfigError(ValueError):
    """A configuration, organisation or taxonomy file is invalid; the message names where."""
