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
from .reviews import CircularVersion, PlanApproval
from .web import AuditRecord, LoginAttempt, User, WebSession

__all__ = ["AlertStatus", "AuditRecord", "Candidate", "CandidateAlert", "CandidateCutout",
           "CandidateEvent", "CandidateFollowup", "CandidatePhotometry", "CandidateVetting",
           "CircularDraft", "CircularVersion", "Event", "EventMonitor", "ExecutedObservationRow",
           "FacilityTransaction", "GateDecision", "ListenerStatus", "Localization",
           "LoginAttempt", "MultimessengerCoincidence", "Notice", "NoticeStatus",
           "NotificationRecord", "Plan", "PlanApproval", "PlannedObservationRow",
           "QueueRequestRow", "SnewsAlert", "SnewsCoincidence", "SnewsMessage", "User",
           "VettingState", "WebSession"]
