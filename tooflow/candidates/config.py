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
    kafka_topics : list of str
        Alert topics ``tooflow listen`` subscribes to for candidates.
    followup : dict
        Facilities a vetting action may request follow-up from:
        ``{name: {kind: photometry|spectroscopy, exposure_time: s, filter: ...}}``.
    top : int
        Rows of the top-candidates table (flow artifact, ``tooflow candidates``).
    """

    max_alert_bytes: int = 4 << 20
    notify_threshold: float | None = None
    kafka_topics: list[str] = field(default_factory=list)
    followup: dict[str, dict[str, Any]] = field(default_factory=lambda: {
        "KPED": {"kind": "photometry", "filter": "r", "exposure_time": 300.0},
        "GROWTH-India": {"kind": "photometry", "filter": "r", "exposure_time": 300.0},
    })
    top: int = 20

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> CandidateConfig:
        """Read the ``candidates`` section (defaults for what it does not say).

        Raises
        ------
        ValueError
            If the section is not a mapping or a value has the wrong type.
        """
        settings = settings or load_settings()
        section = settings.extra.get("candidates") or {}
        if not isinstance(section, dict):
            raise ValueError("configuration: 'candidates' must be a mapping")
        unknown = set(section) - {"max_alert_bytes", "notify_threshold", "kafka_topics",
                                  "followup", "top"}
        if unknown:
            raise ValueError(f"configuration: unknown candidates settings {sorted(unknown)}")
        kwargs: dict[str, Any] = {}
        try:
            if "max_alert_bytes" in section:
                kwargs["max_alert_bytes"] = int(section["max_alert_bytes"])
            if section.get("notify_threshold") is not None:
                kwargs["notify_threshold"] = float(section["notify_threshold"])
            if "kafka_topics" in section:
                topics = section["kafka_topics"] or []
                if isinstance(topics, str) or not all(isinstance(t, str) for t in topics):
                    raise ValueError("kafka_topics must be a list of topic names")
                kwargs["kafka_topics"] = list(topics)
            if "followup" in section:
                followup = section["followup"] or {}
                if not isinstance(followup, dict) or not all(
                        isinstance(v, dict) for v in followup.values()):
                    raise ValueError("followup must map facility names to mappings")
                kwargs["followup"] = {str(k): dict(v) for k, v in followup.items()}
            if "top" in section:
                kwargs["top"] = int(section["top"])
        except (TypeError, ValueError) as exc:
            raise ValueError(f"configuration: candidates: {exc}") from exc
        return cls(**kwargs)
