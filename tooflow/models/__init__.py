"""Database models (SQLModel), one module per concern, re-exported here."""

from .events import Event, Localization
from .notices import Notice, NoticeStatus
from .programs import GateDecision

__all__ = ["Event", "GateDecision", "Localization", "Notice", "NoticeStatus"]
