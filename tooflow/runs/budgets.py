"""Time budgets of the Prefect tasks and flows: nothing runs forever.

Every external call already has its own total deadline (sky-map fetch,
facility HTTP, TAP, notifications: :mod:`tooflow.guards.deadline`); these budgets are
the backstop above them. A task past its budget fails with Prefect's
``TimedOut`` state (and is not retried: a retry of something stuck would only
double the wait); a flow past its budget ends ``Failed`` (``TimedOut``) with
the reason, which is recorded on the notice. docs/operations.md lists them.
"""

from __future__ import annotations

__all__ = ["TASK_TIMEOUTS", "CANDIDATE_BATCH_TIMEOUT", "HANDLE_NOTICE_TIMEOUT",
           "MONITOR_EVENT_TIMEOUT", "MONITOR_EVENTS_TIMEOUT", "RERUN_TIMEOUT",
           "RESUBMIT_TIMEOUT", "CIRCULAR_MARGIN"]

#: Seconds each task may run (one attempt).
TASK_TIMEOUTS: dict[str, float] = {
    "parse": 600,  # sky-map fetch (120 s deadline) + reading the largest accepted map
    "gate": 120,
    "notify": 600,  # each delivery has its own 30 s deadline
    "plan": 1800,  # OR-Tools has its own time limit (20 s by default) per program
    "plan_first_light": 600,  # greedy over the first block, or one pointing: no solver
    "submit": 900,  # each facility request: 60 s deadline, retries included
    "cancel": 900,
    "poll": 300,
    "circular": 300,
    "resubmit": 900,  # as submit, over every event's unsent requests
    "event_view": 300,  # reads the event's rows (and its sky map for the coverage)
    "candidates_parse": 600,  # a batch of alert packets into rows
    "candidates_score": 900,  # one event: read its map, associate and rank the batch
    "candidates_view": 300,  # the top-candidates table with thumbnails
    "approval": 3 * 3600 + 300,  # a program's approval_timeout is at most 3 h
}

#: Seconds one ``handle-notice`` run may take, an inline monitor included: the
#: inline monitor stops polling early enough to draft its circulars inside it
#: (production monitors with ``monitor: {mode: deployment}``, their own budget).
HANDLE_NOTICE_TIMEOUT: float = 4 * 3600

#: Time kept, out of :data:`HANDLE_NOTICE_TIMEOUT`, for drafting circulars after
#: an inline monitor stops.
CIRCULAR_MARGIN: float = 900

#: Seconds an inline ``monitor-event`` run may take: the longest plan window
#: (48 h) and a margin. Its own loop stops at the plan window's end.
MONITOR_EVENT_TIMEOUT: float = 3 * 86400

#: Seconds a ``monitor-events`` run may take: one poll per watched event (each
#: poll has its own 300 s budget) and the drafts of those finished.
MONITOR_EVENTS_TIMEOUT: float = 3600

#: Seconds a ``resubmit-unsent`` run may take, an inline monitor of what a queue
#: accepted included (it stops in time, as handle-notice's does).
RESUBMIT_TIMEOUT: float = HANDLE_NOTICE_TIMEOUT

#: Seconds a ``rerun`` run may take (it runs handle-notice as a sub-flow).
RERUN_TIMEOUT: float = HANDLE_NOTICE_TIMEOUT + 600

#: Seconds one ``handle-candidates`` run (a batch of alerts) may take.
CANDIDATE_BATCH_TIMEOUT: float = 3600
