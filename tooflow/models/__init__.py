"""Database models (SQLModel), one module per concern, re-exported here."""

from .coincidence import MultimessengerCoincidence, SnewsAlert, SnewsCoincidence, SnewsMessage  # noqa: F401
from .events import Event, Localization
from .listeners import ListenerStatus
from .notices import Notice, NoticeStatus
from .plans import (
    CircularDraft,
    ExecutedObservationRow,
    FacilityTransaction,
    NotificationRecord,
    Plan,
    PlannedObservationRow,
    QueueRequestRow,
)
from .programs import GateDecision

__all__ = ["CircularDraft", "Event", "ExecutedObservationRow", "FacilityTransaction",
           "GateDecision", "Localization", "Notice", "NoticeStatus", "NotificationRecord",
           "Plan", "PlannedObservationRow", "QueueRequestRow"]
