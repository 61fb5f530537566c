"""The weights of the ranking factors and the listing threshold (``candidates.ranking``).

A plain dataclass with no tooflow imports, so that the configuration can check
the section (:mod:`tooflow.config.sections`) without importing the ranking
(:mod:`tooflow.candidates.ranking`, which reads sky maps and galaxies).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

__all__ = ["RankingWeights"]


@dataclass(frozen=True)
class RankingWeights:
    """Weights of the ranking terms, and the listing threshold.

    Every weight multiplies its term (see the module docstring); 0 switches a
    factor off. ``threshold``: candidates scoring below it are not listed.
    """

    localization: float = 1.0
    distance: float = 1.0
    host: float = 1.0
    light_curve: float = 1.0
    colour: float = 0.5
    detections: float = 1.0
    real_bogus: float = 1.0
    star: float = 1.0
    solar_system: float = 1.0
    threshold: float = 0.5
    host_radius_kpc: float = 50.0
    host_scale_kpc: float = 15.0
    min_baseline_days: float = 0.2
    min_separation_minutes: float = 15.0

    @classmethod
    def from_config(cls, section: dict[str, Any] | None) -> RankingWeights:
        """From ``candidates.ranking`` of the settings (unknown keys are an error)."""
        section = dict(section or {})
        known = {f.name for f in fields(cls)}
        unknown = set(section) - known
        if unknown:
            raise ValueError(f"candidates.ranking: unknown key(s) {', '.join(sorted(unknown))}"
                             f"; known: {', '.join(sorted(known))}")
        try:
            return cls(**{k: float(v) for k, v in section.items()})
        except (TypeError, ValueError) as exc:
            raise ValueError(f"candidates.ranking: {exc}") from None
