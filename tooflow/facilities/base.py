"""The one interface every telescope queue implements.

A facility adapter turns :class:`~tooflow.observations.PlannedObservation`
objects into the facility's own request format (:meth:`Facility.build_request`,
pure), sends it over HTTP (:meth:`Facility.submit`), and reads back what the
queue says (:meth:`~Facility.status`, :meth:`~Facility.cancel`,
:meth:`~Facility.executed`, :meth:`~Facility.health`). Adapters take and return
plain dataclasses and never see a database session: the Prefect task that calls
them stores the results, including the :class:`~tooflow.facilities.http.Transaction`
records of every HTTP exchange (``facility.transactions``).

Idempotency: every planned observation carries a stable
:attr:`~tooflow.observations.PlannedObservation.request_key`; it travels in the
payload, and an adapter treats the queue's "already exists" as success, so a
retry or a re-run never queues the same observation twice.
"""

from __future__ import annotations

import abc
import datetime as dt
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator

from tooflow.facilities.http import FacilityError, HttpClient, Transaction
from tooflow.observations import ExecutedObservation, PlannedObservation, QueueRequest
from tooflow.telescopes import Site

__all__ = [
    "Site",
    "FacilityConfig",
    "FacilityExtra",
    "Facility",
    "FacilityError",
    "TERMINAL_STATUSES",
    "validity_window",
]

#: Queue states after which a request never changes again.
TERMINAL_STATUSES = frozenset({"completed", "cancelled", "failed", "rejected"})


@dataclass
class FacilityConfig:
    """How to reach one facility's queue.

    Credentials are never stored here: ``token_env`` names the environment
    variable that holds the token (e.g. ``TOOFLOW_ZTF_TOKEN``), read when the
    adapter is built.

    Attributes
    ----------
    url : str
        Base URL of the queue API (``http://127.0.0.1:8123`` for the simulator).
    token_env : str
        Environment variable holding a bearer token; empty means no token.
    timeout : float
        Seconds to wait for connect and for each read.
    retries : int
        Extra attempts after the first, on connection errors and
        408/429/502/503/504 only.
    backoff : float
        First back-off delay in seconds; doubled after each failed attempt.
    deadline : float
        Total seconds for one request, its retries and waits included (a TAP
        query gets twice this).
    queue_name : str
        Queue to submit to; empty means the facility's own default.
    program : str
        Program/proposal name or id sent with requests (ZTF subprogram,
        DECam propid...).
    user : str
        User name some queues record with each request.
    site : Site or None
        Telescope site; adapters that need one have a default.
    tap_url : str
        TAP service publishing executed observations (ZTF: IRSA), if any.
    extra : dict or FacilityExtra
        Facility-specific settings: the keys of the adapter's
        :attr:`Facility.Extra` model, checked when the adapter is built (and
        when the settings are loaded).
    """

    url: str = ""
    token_env: str = ""
    timeout: float = 10.0
    retries: int = 3
    backoff: float = 0.5
    deadline: float = 60.0
    queue_name: str = ""
    program: str = ""
    user: str = "tooflow"
    site: Site | None = None
    tap_url: str = ""
    extra: dict[str, Any] | FacilityExtra = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: dict[str, Any] | None) -> FacilityConfig:
        """Build from a plain mapping (YAML section); ``site`` may be a dict.

        Raises
        ------
        ValueError
            On an unknown key, naming it.
        """
        data = dict(data or {})
        names = {f.name for f in cls.__dataclass_fields__.values()}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown facility setting(s): {', '.join(unknown)}")
        site = data.get("site")
        if isinstance(site, dict):
            data["site"] = Site(**site)
        return cls(**data)

    def token(self) -> str | None:
        """The secret from ``token_env``, or None when unset (never logged)."""
        if not self.token_env:
            return None
        return os.environ.get(self.token_env) or None


class FacilityExtra(BaseModel):
    """An adapter's own settings (``facilities.TELESCOPE.extra``): none here.

    Each adapter names its model in :attr:`Facility.Extra`; the model checks
    the values (a wrong type, a value not allowed, an unknown key) when the
    settings are loaded, so a bad value stops ``tooflow`` at start, and again
    when an adapter is built from a plain mapping.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(str(k) for k in data if k not in cls.model_fields)
            if unknown:
                allowed = ", ".join(cls.model_fields) or "none"
                raise ValueError(f"unknown key(s) {', '.join(map(repr, unknown))}; "
                                 f"allowed: {allowed}")
        return data

    @classmethod
    def of(cls, value: dict[str, Any] | FacilityExtra | None) -> FacilityExtra:
        """``value`` checked against this model (an instance of it is kept)."""
        if isinstance(value, cls):
            return value
        if isinstance(value, FacilityExtra):
            value = value.model_dump(exclude_defaults=True)
        return cls.model_validate(value or {})


def validity_window(observations: Sequence[PlannedObservation],
                    window: tuple[dt.datetime, dt.datetime] | None,
                    default_length: dt.timedelta = dt.timedelta(hours=24),
                    ) -> tuple[dt.datetime, dt.datetime]:
    """The window a request is valid in: the given one, else first start + 24 h.

    Parameters
    ----------
    observations : sequence of PlannedObservation
        Must not be empty when ``window`` is None.
    window : (datetime, datetime) or None
        Explicit (start, end), UTC, timezone-aware.
    default_length : datetime.timedelta
        Length of the default window.
    """
    if window is not None:
        start, end = window
    else:
        if not observations:
            raise ValueError("no observations and no window")
        start = min(o.start_time for o in observations)
        end = max(o.start_time for o in observations) + default_length
    for t in (start, end):
        if t.tzinfo is None:
            raise ValueError(f"validity window times must be timezone-aware, got {t!r}")
    if end <= start:
        raise ValueError(f"validity window ends ({end}) before it starts ({start})")
    return start, end


class Facility(abc.ABC):
    """A telescope queue. Subclasses set :attr:`name` and implement the methods.

    Parameters
    ----------
    config : FacilityConfig
        Endpoint, credentials (by environment variable name), retry policy.
    client : HttpClient, optional
        Shared HTTP client; by default one is built from ``config``.
    """

    #: Registry name, the ``telescope`` of the planned observations it takes.
    name: str = ""

    #: The model of ``config.extra`` (the adapter's own settings).
    Extra: ClassVar[type[FacilityExtra]] = FacilityExtra

    def __init__(self, config: FacilityConfig | None = None, *,
                 client: HttpClient | None = None):
        self.config = config or FacilityConfig()
        #: ``config.extra``, checked and typed (:attr:`Extra`).
        self.extra = self.Extra.of(self.config.extra)
        self.client = client or HttpClient(
            self.config.url, token=self.config.token(), timeout=self.config.timeout,
            retries=self.config.retries, backoff=self.config.backoff, facility=self.name,
            deadline=self.config.deadline)

    @property
    def transactions(self) -> list[Transaction]:
        """Every HTTP exchange so far (method, url, status, elapsed; no secrets)."""
        return self.client.transactions

    def pop_transactions(self) -> list[Transaction]:
        """Return the exchanges recorded so far and forget them (store, then pop)."""
        out = list(self.client.transactions)
        self.client.transactions.clear()
        return out

    def check_observations(self, observations: Iterable[PlannedObservation]) -> None:
        """Raise :class:`FacilityError` if an observation is for another telescope."""
        for obs in observations:
            if obs.telescope.lower() != self.name.lower():
                raise FacilityError(
                    f"{self.name} adapter got an observation for {obs.telescope!r} "
                    f"({obs.request_key})")

    @abc.abstractmethod
    def build_request(self, observations: Sequence[PlannedObservation], *, event_id: str,
                      program: str = "", window: tuple[dt.datetime, dt.datetime] | None = None,
                      ) -> dict[str, Any]:
        """The facility's own payload for these observations (pure, no I/O)."""

    @abc.abstractmethod
    def submit(self, observations: Sequence[PlannedObservation], *, event_id: str,
               program: str = "", window: tuple[dt.datetime, dt.datetime] | None = None,
               ) -> list[QueueRequest]:
        """Queue the observations; one :class:`QueueRequest` per observation.

        Idempotent: submitting the same observations again queues nothing new
        and returns their current state.
        """

    @abc.abstractmethod
    def status(self, keys: Sequence[str]) -> list[QueueRequest]:
        """What the queue says about these request keys."""

    @abc.abstractmethod
    def cancel(self, keys: Sequence[str]) -> list[QueueRequest]:
        """Withdraw these requests if they have not run; returns their new state."""

    @abc.abstractmethod
    def executed(self, since: dt.datetime) -> list[ExecutedObservation]:
        """Exposures taken after ``since`` (UTC, timezone-aware)."""

    @abc.abstractmethod
    def health(self) -> dict[str, Any]:
        """A small report: at least ``{"ok": bool, "facility": name}``."""

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self.client.close()

    def __enter__(self) -> Facility:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
