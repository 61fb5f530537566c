"""Database models (SQLModel), one module per concern, re-exported here."""

from .candidates import (
    AlertStatus,
    Candidate,
    CandidateAlert,
    CandidateCutout,
    CandidateEvent,
    CandidateFollowup,
    CandidatePhotometry,
    CandidateVetting,
    VettingState,
)
from .coincidence import (
    MultimessengerCoincidence,
    SnewsAlert,
    SnewsCoincidence,
    SnewsMessage,
)
from .events import Event, Localization
from .listeners import ListenerStatus
from .monitors import EventMonitor
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

__all__ = ["AlertStatus", "Candidate", "CandidateAlert", "CandidateCutout", "CandidateEvent",
           "CandidateFollowup", "CandidatePhotometry", "CandidateVetting", "VettingState",
           "CircularDraft", "Event", "EventMonitor", "ExecutedObservationRow",
           "FacilityTransaction", "GateDecision", "ListenerStatus", "Localization",
           "MultimessengerCoincidence", "Notice", "NoticeStatus", "NotificationRecord", "Plan",
           "PlannedObservationRow", "QueueRequestRow", "SnewsAlert", "SnewsCoincidence",
           "SnewsMessage"]
