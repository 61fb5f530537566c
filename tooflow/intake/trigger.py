"""Start the ``handle-notice`` deployment for a stored notice, and catch up on missed ones.

Why ``run_deployment`` and not Prefect events with a deployment trigger
------------------------------------------------------------------------
A listener could emit a Prefect event (``tooflow.notice.stored``) and let an
automation's deployment trigger start the flow. We call
:func:`prefect.deployments.run_deployment` (``timeout=0``: create the run, do not
wait for it) instead, because:

* **We learn the outcome synchronously.** ``run_deployment`` returns the created
  flow run (id and name) or raises. The notice row records ``triggered`` with
  the run id only when the API accepted it; when the API is unreachable the
  notice stays ``received`` and :func:`reconcile` tries again. ``emit_event`` is
  fire-and-forget over a websocket: a lost event leaves no trace we could
  reconcile, and the flow run id is not known to the listener.
* **Duplicates collapse in Prefect itself.** Every trigger carries an
  idempotency key derived from the notice (``tooflow-notice-<id>-<sha256[:16]>``):
  if a listener dies after Prefect created the run but before the row says
  ``triggered``, the reconciler's second request returns the *same* flow run.
* **No extra moving part.** Events need the server's triggers service and an
  automation that must be deployed and kept in sync; ``run_deployment`` needs
  only the deployment in ``prefect.yaml``.

The cost is one or two HTTP calls per notice (the deployment id is cached per
process), a few milliseconds on a local server.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ..db import get_engine
from ..models import Notice, NoticeStatus
from ..models._types import utcnow

__all__ = [
    "DEFAULT_DEPLOYMENT",
    "FlowRunRef",
    "TriggerError",
    "create_flow_run",
    "mark_triggered",
    "notice_idempotency_key",
    "reconcile",
    "trigger_notice",
    "warm_up",
]

log = logging.getLogger(__name__)

#: ``<flow name>/<deployment name>`` of the per-notice flow (see ``prefect.yaml``).
DEFAULT_DEPLOYMENT = "handle-notice/handle-notice"

#: Total seconds to create one flow run (lookup included); past it the notice stays
#: ``received`` and the reconciler asks again.
TRIGGER_DEADLINE = 120.0

_deployment_ids: dict[tuple[str, str], uuid.UUID] = {}


class TriggerError(RuntimeError):
    """The flow run could not be created (Prefect API unreachable, unknown deployment...)."""


@dataclass(frozen=True)
class FlowRunRef:
    """The flow run created for a notice."""

    id: str
    name: str


def notice_idempotency_key(notice_id: int, sha256: str) -> str:
    """Idempotency key of the first flow run for a notice.

    It names the row *and* its content, so a recreated database whose ids start
    again at 1 never collides with runs kept by the Prefect server.
    """
    return f"tooflow-notice-{notice_id}-{sha256[:16]}"


def _api_url() -> str:
    from prefect.settings import PREFECT_API_URL

    return str(PREFECT_API_URL.value() or "")


def _deployment_id(name: str) -> uuid.UUID:
    """The deployment's id, looked up once per process and API URL."""
    key = (_api_url(), name)
    if key not in _deployment_ids:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            _deployment_ids[key] = client.read_deployment_by_name(name).id
    return _deployment_ids[key]


def warm_up(deployment: str = DEFAULT_DEPLOYMENT) -> bool:
    """Look the deployment up once, so the first notice does not pay for it.

    Returns
    -------
    bool
        False (after logging why) when the API or the deployment is not there yet;
        triggering will try again per notice.
    """
    try:
        _deployment_id(deployment)
    except Exception as exc:  # noqa: BLE001 - only an optimisation
        log.warning("Prefect deployment %s not reachable yet: %s", deployment, exc)
        return False
    return True


def create_flow_run(notice_id: int, *, deployment: str = DEFAULT_DEPLOYMENT,
                    idempotency_key: str | None = None,
                    tags: list[str] | None = None) -> FlowRunRef:
    """Create a run of ``deployment`` for ``notice_id`` and return without waiting.

    Parameters
    ----------
    notice_id : int
        The ``notice_id`` parameter of the flow.
    deployment : str
        ``<flow>/<deployment>`` name.
    idempotency_key : str, optional
        Requests with the same key return the same flow run.
    tags : list of str, optional
        Tags of the flow run.

    Raises
    ------
    TriggerError
        The Prefect API is unreachable, refused the request, or has no such deployment.
    """
    from prefect.deployments import run_deployment

    from ..guards.deadline import call_with_deadline

    try:
        # a total deadline: a Prefect API that answers a byte at a time must not hold
        # a trigger thread; past it the notice stays received for the reconciler, and
        # the idempotency key makes a late-created run the one it gets
        run = call_with_deadline(
            lambda: run_deployment(_deployment_id(deployment),
                                   parameters={"notice_id": notice_id}, timeout=0,
                                   as_subflow=False, idempotency_key=idempotency_key,
                                   tags=tags),
            TRIGGER_DEADLINE, f"creating the {deployment} run for notice #{notice_id}")
    except Exception as exc:  # noqa: BLE001 - httpx, Prefect and OS errors all mean "not now"
        _deployment_ids.pop((_api_url(), deployment), None)
        raise TriggerError(f"could not start {deployment} for notice #{notice_id}: "
                           f"{_why(exc, deployment)}") from exc
    return FlowRunRef(str(run.id), run.name)


def _why(exc: Exception, deployment: str) -> str:
    """The reason a run could not be created, with what to do about a missing deployment."""
    from prefect.exceptions import ObjectNotFound

    if isinstance(exc, ObjectNotFound):
        return (f"no deployment {deployment} on the Prefect server at {_api_url()}; create it "
                "with `prefect deploy --all` from the tooflow checkout (docs/operations.md), "
                "or on the embedded default serve it with `tooflow server serve`")
    return f"{type(exc).__name__}: {exc}"


def mark_triggered(notice_id: int, run: FlowRunRef, *, engine: Engine | None = None) -> None:
    """Record on the notice that its flow run exists (status ``triggered``).

    A notice already past ``triggered`` (parsed, rejected, ...: the flow got there
    first) keeps its status; the run id and time are recorded all the same.
    """
    with Session(engine or get_engine()) as session:
        notice = session.get(Notice, notice_id)
        if notice is None:
            raise KeyError(f"no notice #{notice_id}")
        if notice.status == NoticeStatus.received.value:
            notice.status = NoticeStatus.triggered.value
        notice.flow_run_id = run.id
        notice.flow_run_name = run.name
        notice.triggered_at = utcnow()
        session.add(notice)
        session.commit()


def trigger_notice(notice_id: int, *, deployment: str = DEFAULT_DEPLOYMENT,
                   engine: Engine | None = None, rerun: bool = False) -> str:
    """Start the flow for a stored notice and mark the notice ``triggered``.

    Parameters
    ----------
    notice_id : int
        A stored notice.
    deployment : str
        ``<flow>/<deployment>`` name.
    engine : Engine, optional
        Database engine (default: the configured one).
    rerun : bool
        False: the notice's first run (idempotent: asking twice gives the same run).
        True: a deliberate new run (``tooflow rerun``), with a fresh key.

    Returns
    -------
    str
        The flow run id. If the Prefect API is unreachable, :class:`TriggerError`
        is raised and the notice stays as it was (``received``).
    """
    engine = engine or get_engine()
    with Session(engine) as session:
        notice = session.get(Notice, notice_id)
        if notice is None:
            raise KeyError(f"no notice #{notice_id}")
        sha = notice.sha256
    if rerun:
        key, tags = f"tooflow-rerun-{notice_id}-{uuid.uuid4().hex}", ["rerun"]
    else:
        key, tags = notice_idempotency_key(notice_id, sha), None
    run = create_flow_run(notice_id, deployment=deployment, idempotency_key=key, tags=tags)
    mark_triggered(notice_id, run, engine=engine)
    log.info("notice #%s: flow run %s (%s)", notice_id, run.name, run.id)
    return run.id


def reconcile(engine: Engine | None = None, *,
              trigger: Callable[[int], object] | None = None,
              limit: int | None = None) -> int:
    """Trigger every notice still ``received`` (stored, no flow run yet), oldest first.

    Safe to run at any time, even beside a live listener: the idempotency key
    makes a second request for the same notice return the existing run.

    Parameters
    ----------
    engine : Engine, optional
        Database engine (default: the configured one).
    trigger : callable, optional
        ``trigger(notice_id)``; default :func:`trigger_notice` on ``engine``.
    limit : int, optional
        At most this many notices.

    Returns
    -------
    int
        How many notices were triggered. Stops at the first :class:`TriggerError`
        (the API is down: the others would fail too) after logging it.
    """
    engine = engine or get_engine()
    if trigger is None:
        def trigger(notice_id: int) -> str:
            return trigger_notice(notice_id, engine=engine)
    with Session(engine) as session:
        query = (select(Notice.id).where(Notice.status == NoticeStatus.received.value)
                 .order_by(Notice.id))
        if limit:
            query = query.limit(limit)
        pending = list(session.exec(query))
    done = 0
    for notice_id in pending:
        try:
            trigger(notice_id)
        except TriggerError as exc:
            log.warning("reconcile: %s; %d notice(s) still pending", exc, len(pending) - done)
            break
        done += 1
    return done
