"""The ``candidates`` section of the configuration (docs/configuration.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..config import Settings, load_settings

__all__ = ["CandidateConfig"]


@dataclass(frozen=True)
class CandidateConfig:
    """Settings of the candidate path.

    Attributes
    ----------
    max_alert_bytes : int
        A packet or upload larger than this is stored truncated and rejected
        (ZTF packets are 60-100 kB; 4 MB leaves room for long histories).
    notify_threshold : float or None
        A candidate whose rank score for an event reaches this tells the on-duty
        astronomer, once per (candidate, event); None: never.
    kafka : dict
        The alert stream of ``tooflow candidates listen``, keyed as a hop
        source (``url: kafka://host/topic``, ``group_id``, ``auth``,
        ``start_at``, ``kafka``); empty: no stream.
    batch_size, batch_seconds : int, float
        The listener starts one ``handle-candidates`` run per this many alerts,
        or after this many seconds with any waiting.
    reparse_every : float
        Seconds between the listener's passes over alerts stored but not
        parsed (at most ``batch_size`` per pass; the first pass at start).
    followup : dict
        Facilities a vetting action may request follow-up from:
        ``{name: {kind: photometry|spectroscopy, exposure_time: s, filter: ...}}``.
    top : int
        Rows of the top-candidates table (flow artifact, ``tooflow candidates``).
    ranking : dict
        Weights of the ranking factors and the listing threshold
        (:class:`~tooflow.candidates.weights.RankingWeights`); empty: the defaults.
    association : dict
        ``level`` (credible level of the region, 0.9) and ``margin_days`` (how
        long before the event a detection is tolerated, 0).
    """

    max_alert_bytes: int = 4 << 20
    notify_threshold: float | None = None
    kafka: dict[str, Any] = field(default_factory=dict)
    batch_size: int = 200
    batch_seconds: float = 60.0
    reparse_every: float = 300.0
    followup: dict[str, dict[str, Any]] = field(default_factory=lambda: {
        "KPED": {"kind": "photometry", "filter": "r", "exposure_time": 300.0},
        "GROWTH-India": {"kind": "photometry", "filter": "r", "exposure_time": 300.0},
    })
    top: int = 20
    ranking: dict[str, float] = field(default_factory=dict)
    association: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> CandidateConfig:
        """Read the ``candidates`` section (defaults for what it does not say).

        The section was checked when the settings were loaded
        (:class:`tooflow.config.sections.CandidatesSection`).
        """
        settings = settings or load_settings()
        return cls(**settings.candidates.model_dump(exclude_unset=True))
