"""Errors a listener raises before it starts."""

from __future__ import annotations

__all__ = ["ListenerConfigError", "MissingCredentials"]


class ListenerConfigError(ValueError):
    """The ``listeners:`` section of the configuration is wrong for a source."""


class MissingCredentials(ListenerConfigError):
    """A configured source has no credentials where its client looks for them."""
