"""What a notification says: the event's essentials, rendered for each channel.

:class:`EventSummary` is the plain data a notification needs; :func:`render_messages`
turns it, for one reason, into the texts every channel sends, from the templates
``tooflow/templates/notify_*.j2``:

* ``short`` (``notify_short.txt.j2``): one line, for SMS and the console;
* ``long`` (``notify_long.txt.j2``): a few lines, for e-mail and Slack's fallback text;
* ``speech`` (``notify_speech.txt.j2``): what a voice call says (no URL);
* ``subject``: the e-mail subject / Slack header.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jinja2

__all__ = ["REASONS", "EventSummary", "Messages", "render_messages", "slack_blocks"]

#: Why a notification is sent, and how its title reads.
REASONS: dict[str, str] = {
    "program_triggered": "program triggered",
    "approval_needed": "PLAN NEEDS APPROVAL",
    "plan_submitted": "plan submitted",
    "not_observable": "not observable in the window",
    "submission_failed": "SUBMISSION FAILED",
    "run_failed": "RUN FAILED",
    "retraction": "RETRACTION",
    "circular_ready": "circular draft ready",
    "snews_coincidence": "SNEWS coincidence",
    "candidate_found": "candidate above the threshold",
}

_KIND_WORDS = {
    "GW": "gravitational-wave",
    "GRB": "gamma-ray burst",
    "neutrino": "neutrino",
    "supernova": "supernova neutrino",
    "X-ray": "X-ray transient",
    "FRB": "fast radio burst",
}


@dataclass(frozen=True)
class EventSummary:
    """The essentials of an event for the people on duty.

    Attributes
    ----------
    event_id : str
        ``S230518h``, ``IceCube-230727A``...
    kind : str
        ``GW``, ``GRB``, ``neutrino``, ``supernova``, ``X-ray`` or ``other``.
    time : datetime.datetime
        Event time, UTC, timezone-aware.
    notice_type : str
        Type of the latest notice (``PRELIMINARY``, ``INITIAL``...).
    area90 : float or None
        90% credible area, deg².
    distance, distance_error : float or None
        Luminosity distance and its uncertainty, Mpc.
    classification : mapping of str to float
        Source-class probabilities (``BNS``, ``NSBH``, ``BBH``, ``Terrestrial``).
    programs : tuple of str
        Science programs that triggered.
    urgent : bool
        At least one triggered program asks for a phone call.
    flow_run_url : str or None
        Link to the Prefect flow run handling the notice.
    is_retraction, is_mock : bool
        The event was retracted; the event is a mock/test.
    detail : str
        One more sentence for this reason (what was queued, the circular subject).
    """

    event_id: str
    kind: str
    time: dt.datetime
    notice_type: str = ""
    area90: float | None = None
    distance: float | None = None
    distance_error: float | None = None
    classification: Mapping[str, float] = field(default_factory=dict)
    programs: tuple[str, ...] = ()
    urgent: bool = False
    flow_run_url: str | None = None
    is_retraction: bool = False
    is_mock: bool = False
    detail: str = ""

    @classmethod
    def from_fields(
        cls,
        fields: Mapping[str, Any],
        *,
        programs: Sequence[str] = (),
        urgent: bool = False,
        flow_run_url: str | None = None,
        detail: str = "",
    ) -> EventSummary:
        """Build a summary from an event's stored fields (``tooflow.stages.parse.event_fields``).

        Parameters
        ----------
        fields : mapping
            Keys ``event_id``, ``kind``, ``time`` (datetime or ISO string),
            ``notice_type``, ``area_90``, ``distance_mean``, ``distance_std``,
            ``p_BNS``/``p_NSBH``/``p_BBH``/``p_Terrestrial``, ``is_retraction``,
            ``is_mock``; missing ones are left empty.
        programs, urgent, flow_run_url, detail
            As the attributes.
        """
        time = fields["time"]
        if isinstance(time, str):
            time = dt.datetime.fromisoformat(time.replace("Z", "+00:00"))
        classes = {
            key.removeprefix("p_"): float(fields[key])
            for key in ("p_BNS", "p_NSBH", "p_BBH", "p_Terrestrial")
            if isinstance(fields.get(key), int | float)
        }

        def number(key: str) -> float | None:
            value = fields.get(key)
            return float(value) if isinstance(value, int | float) else None

        return cls(
            event_id=str(fields["event_id"]),
            kind=str(fields.get("kind", "other")),
            time=time,
            notice_type=str(fields.get("notice_type") or ""),
            area90=number("area_90"),
            distance=number("distance_mean"),
            distance_error=number("distance_std"),
            classification=classes,
            programs=tuple(programs),
            urgent=urgent,
            flow_run_url=flow_run_url,
            is_retraction=bool(fields.get("is_retraction")),
            is_mock=bool(fields.get("is_mock")),
            detail=detail,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe mapping (time as ISO 8601), e.g. to store what was last notified."""
        data = {f: getattr(self, f) for f in self.__dataclass_fields__}
        data["time"] = self.time.isoformat()
        data["programs"] = list(self.programs)
        data["classification"] = dict(self.classification)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EventSummary:
        """Inverse of :meth:`to_dict`."""
        values = dict(data)
        values["time"] = dt.datetime.fromisoformat(values["time"])
        values["programs"] = tuple(values.get("programs", ()))
        values["classification"] = dict(values.get("classification", {}))
        return cls(**values)

    def fingerprint(self) -> str:
        """A short hash of what a notification says about the event.

        Equal fingerprints mean the same alert type, retraction state, programs,
        urgency, 90% area (to 3 significant digits) and classification (to 0.01);
        :func:`~tooflow.notify.dispatch.should_notify` applies tolerances on top.
        """
        area = None if self.area90 is None else float(f"{self.area90:.3g}")
        said = [self.event_id, self.notice_type, self.is_retraction, sorted(self.programs),
                self.urgent, area, sorted((k, round(v, 2)) for k, v in
                                          self.classification.items())]
        return hashlib.sha256(json.dumps(said).encode()).hexdigest()[:16]

    @property
    def top_class(self) -> tuple[str, float] | None:
        """The most probable source class and its probability, if classified."""
        if not self.classification:
            return None
        name = max(self.classification, key=lambda k: self.classification[k])
        return name, self.classification[name]


@dataclass(frozen=True)
class Messages:
    """The texts of one notification, one per channel style."""

    reason: str
    subject: str
    short: str
    long: str
    speech: str


def _spell(event_id: str) -> str:
    """Spell an id for text-to-speech: ``S230518h`` -> ``S 2 3 0 5 1 8 h``."""
    return " ".join(event_id.replace("-", " ").replace("_", " ").replace(" ", ""))


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("tooflow", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # plain text; Slack blocks and TwiML are built by their SDKs
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["spell"] = _spell
    env.filters["utc"] = lambda t: t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    env.globals["kind_words"] = _KIND_WORDS
    env.globals["reasons"] = REASONS
    return env


def render_messages(summary: EventSummary, reason: str) -> Messages:
    """Render the texts of a notification.

    Parameters
    ----------
    summary : EventSummary
        The event.
    reason : str
        One of :data:`REASONS`.

    Raises
    ------
    ValueError
        For an unknown reason or a naive event time.
    """
    if reason not in REASONS:
        raise ValueError(f"unknown notification reason {reason!r} (known: {', '.join(REASONS)})")
    if summary.time.tzinfo is None or summary.time.utcoffset() is None:
        raise ValueError(f"event time must be timezone-aware, got {summary.time.isoformat()}")
    env = _environment()
    values = {"s": summary, "reason": reason, "title": REASONS[reason]}

    def one_line(name: str) -> str:
        return " ".join(env.get_template(name).render(values).split())

    mock = "[MOCK] " if summary.is_mock else ""
    return Messages(
        reason=reason,
        subject=f"{mock}tooflow {REASONS[reason]}: {summary.event_id}",
        short=one_line("notify_short.txt.j2"),
        long=env.get_template("notify_long.txt.j2").render(values).strip() + "\n",
        speech=one_line("notify_speech.txt.j2"),
    )


def slack_blocks(summary: EventSummary, messages: Messages) -> list[dict[str, Any]]:
    """Slack Block Kit blocks: a header, the essentials, and a button to the flow run.

    Parameters
    ----------
    summary : EventSummary
    messages : Messages
        From :func:`render_messages`.
    """
    lines = messages.long.strip().splitlines()
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": messages.subject[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines[1:])[:3000]}},
    ]
    if summary.flow_run_url:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open the flow run"},
                        "url": summary.flow_run_url,
                    }
                ],
            }
        )
    return blocks
