"""The planner's result, :class:`Plan`, and what it says in words.

A plan's exposures, objective, bound and gap, and its summaries (text, markdown,
JSON, CSV); :func:`describe_solver`, the sentence on the solver's status and the
gap in words of the plan's objective (:func:`objective_words`), also used for
stored plans (``tooflow show``, the plan artifact); :func:`idle_lines`, why a
telescope got nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import asdict, dataclass, field

import numpy as np

from tooflow.observations import PlannedObservation

from .observability import LOOKAHEAD_DAYS

__all__ = ["OBJECTIVE_WORDS", "Plan", "SOLVER_TOLERANCE", "describe_solver", "idle_lines",
           "objective_words"]

#: The relative gap at which the solver stops (see :func:`~.solver.solve`).
SOLVER_TOLERANCE = 0.005

#: What each objective's number is, in words: the sentences about the solver, its
#: bound, the gap and a fallback speak of the plan's own objective.
OBJECTIVE_WORDS = {"coverage": "probability covered",
                   "detection": "probability of detection under the model"}


def objective_words(name: str | None) -> str:
    """What a plan's objective measures, in words.

    ``probability covered`` for ``coverage`` (also a stored plan without an
    objective name, and galaxy-weighted plans), ``probability of detection under
    the model`` for ``detection``.
    """
    return OBJECTIVE_WORDS["detection" if name == "detection" else "coverage"]


def describe_solver(status: str | None, gap: float | None,
                    threshold_gap: float | None = None, objective: str | None = None) -> str:
    """What the solver's status and the gap mean, in words.

    ``gap`` is ``(bound - objective) / bound`` for the plan returned: how much
    more (relatively) the best plan of the solver's block model could reach at
    most of the plan's ``objective`` (``coverage``, the default, or
    ``detection``: :func:`objective_words`). ``threshold_gap`` is the part of it
    the per-telescope thresholds gave up (the block model has no thresholds),
    when known.
    """
    status = status or "?"
    g = 0.0 if gap is None or not np.isfinite(gap) else gap
    th = 0.0 if threshold_gap is None or not np.isfinite(threshold_gap) else threshold_gap
    what = objective_words(objective)
    best = f"the best possible plan has at most {100 * g:.2f} % more {what}"
    if status == "GREEDY":
        return "greedy baseline (no bound)"
    if status.endswith("+INCUMBENT"):
        return (f"solver time limit reached; the fast incumbent had more {what} and is "
                f"kept: {best}")
    if status == "FIRST-BLOCK":
        return "greedy first block, queued before the optimal plan (no bound)"
    if status == "SINGLE-POINTING":
        return "single pointing: the localization fits in one field (no optimiser, no bound)"
    if status.endswith("+GREEDY"):
        return f"greedy baseline kept (it had more {what} than the solver's best); {best}"
    if status == "EMPTY":
        return "nothing to solve"
    if status == "OPTIMAL" and g <= SOLVER_TOLERANCE + 1e-9:
        return f"optimal: {best} (solver tolerance {100 * SOLVER_TOLERANCE:g} %)"
    if status == "OPTIMAL" and threshold_gap is not None and g - th <= SOLVER_TOLERANCE + 1e-9:
        return (f"optimal to the solver tolerance ({100 * SOLVER_TOLERANCE:g} %) but for "
                f"{100 * th:.2f} % the per-telescope thresholds gave up (fields adding less "
                f"than their threshold are not observed; the bound has no threshold): {best}")
    if status == "OPTIMAL":
        return (f"solver optimal for its block model (to {100 * SOLVER_TOLERANCE:g} %); "
                f"timing the exposures"
                + (f" and the per-telescope thresholds ({100 * th:.2f} %)" if th > 0 else
                   " and dropping fields that add too little")
                + f" leave this plan's {what} at most {100 * g:.2f} % below the best possible")
    if status == "FEASIBLE":
        return f"solver time limit reached: {best}"
    if status == "WORKING-SET":
        return (f"solver optimal on a working set of the fields (the whole model is too "
                f"large for its time limit): {best}")
    return f"solver status {status}; {best}"


@dataclass
class Plan:
    """An observation plan for a network of telescopes.

    Attributes
    ----------
    observations : list of PlannedObservation
        Timed exposures, sorted by telescope then start time.
    objective : float
        Sky probability covered by the union of all completed fields of all
        telescopes (each point of the sky counted once; a field counts when all
        the visits its strategy asks for are planned).
    bound : float
        Solver's upper bound on the objective: no plan of its block model (visits
        in time blocks, no per-telescope threshold) covers more. The plan itself is
        timed in continuous time, so it may exceed it (then ``bound = objective``).
    gap : float
        ``(bound - objective) / bound`` of this plan (the one returned).
    gap_thresholds : float or None
        The part of ``gap`` given up by the per-telescope thresholds (coverage
        objective; None otherwise).
    solve_time : float
        Seconds spent in the solver.
    wall_time : float
        Seconds for the whole planning call (map rasterisation, visibility, solve).
    status : str
        Solver status (``OPTIMAL``, ``FEASIBLE`` at the time limit, ``GREEDY``...).
    per_telescope : dict of str to float
        Union probability covered by each telescope's completed fields alone.
    start, end : datetime.datetime
        Planning window (UTC).
    idle : dict of str to str
        Per telescope without exposures, why (no night, not observable, no
        field grid and no targets, nothing worth its threshold).
    next_observable : dict of str to datetime or None
        Per telescope idle for reasons of sky and time: when the localization
        next becomes observable from its site (None: not within the look-ahead).
    """

    observations: list[PlannedObservation]
    objective: float
    bound: float
    gap: float
    solve_time: float
    status: str
    per_telescope: dict[str, float]
    start: dt.datetime
    end: dt.datetime
    wall_time: float = 0.0
    telescopes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    idle: dict[str, str] = field(default_factory=dict)
    next_observable: dict[str, dt.datetime | None] = field(default_factory=dict)
    lookahead_days: float = LOOKAHEAD_DAYS
    objective_name: str = "coverage"
    covered: float | None = None
    detected: float | None = None
    counterpart: str | None = None
    per_telescope_added: dict[str, float] = field(default_factory=dict)
    #: the part of ``gap`` the per-telescope thresholds gave up (None: not known)
    gap_thresholds: float | None = None

    @property
    def exposure_times(self) -> dict[str, list[float]]:
        """Per telescope, the exposure times (s) of its planned exposures, sorted."""
        out: dict[str, set] = {}
        for o in self.observations:
            out.setdefault(o.telescope, set()).add(float(o.exposure_time))
        return {k: sorted(v) for k, v in out.items()}

    def headline(self) -> str:
        """Both numbers: probability covered and probability of detection under the model."""
        cov = self.covered if self.covered is not None else self.objective
        line = f"covered {100 * cov:.2f} %"
        if self.detected is not None:
            line += f", detection {100 * self.detected:.2f} % ({self.counterpart})"
        return line + f" [objective: {self.objective_name}]"

    @property
    def observable(self) -> bool:
        """False when nothing at all can be observed in the window."""
        return bool(self.observations)

    def idle_lines(self) -> list[str]:
        """One line per telescope without exposures: why, and when it next could observe."""
        return [f"{name}: {line}" for name, line in idle_lines(
            self.idle, self.next_observable, self.lookahead_days)]

    def solver_sentence(self) -> str:
        """What the status and the gap mean, in words of the plan's objective."""
        return describe_solver(self.status, self.gap, self.gap_thresholds, self.objective_name)

    def to_dict(self) -> dict:
        """JSON-ready dictionary (times as ISO strings)."""
        d = asdict(self)
        d["start"] = self.start.isoformat()
        d["end"] = self.end.isoformat()
        d["next_observable"] = {k: v.isoformat() if v else None
                                for k, v in self.next_observable.items()}
        d["observations"] = [
            {**asdict(o), "start_time": o.start_time.isoformat(), "request_key": o.request_key}
            for o in self.observations
        ]
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_csv(self) -> str:
        """Planned observations as CSV (one row per exposure)."""
        buf = io.StringIO()
        cols = ["telescope", "field_id", "target", "ra", "dec", "filter", "exposure_time",
                "start_time", "probability", "visit"]
        w = csv.writer(buf)
        w.writerow(cols)
        for o in self.observations:
            w.writerow([getattr(o, c).isoformat() if c == "start_time" else getattr(o, c)
                        for c in cols])
        return buf.getvalue()

    def to_markdown(self, limit: int = 200) -> str:
        """Markdown table of the planned observations (e.g. for a Prefect artifact)."""
        lines = [
            f"**{self.objective_name.capitalize()}** {100 * self.objective:.2f} % "
            f"(bound {100 * self.bound:.2f} %, "
            f"gap {100 * self.gap:.2f} %: "
            f"{self.solver_sentence()})", "",
            f"Probability {self.headline()}", ""]
        if self.observations:
            lines += ["Exposure times: " + "; ".join(
                f"{name} {', '.join(f'{t:g}' for t in times)} s"
                for name, times in self.exposure_times.items()), ""]
        if not self.observable:
            lines += ["**Not observable in the window.**", ""]
        lines += [f"* {line}" for line in self.idle_lines()]
        lines += ["",
            "| telescope | field / target | RA | Dec | filter | exp (s) | start (UTC) "
            "| probability | visit |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for o in self.observations[:limit]:
            where = o.field_id if o.field_id is not None else o.target
            lines.append(f"| {o.telescope} | {where} | {o.ra:.4f} | {o.dec:.4f} | {o.filter} "
                         f"| {o.exposure_time:g} | {o.start_time:%Y-%m-%d %H:%M:%S} "
                         f"| {o.probability:.4f} | {o.visit} |")
        if len(self.observations) > limit:
            lines.append(f"| ... {len(self.observations) - limit} more | | | | | | | | |")
        return "\n".join(lines)

    def summary(self) -> str:
        """Human-readable summary: probability per telescope and total, bound, gap."""
        lines = [f"Plan {self.start:%Y-%m-%d %H:%M} - {self.end:%Y-%m-%d %H:%M} UTC "
                 f"({len(self.observations)} exposures)"]
        times = self.exposure_times
        lines.append(f"  {self.objective_name} per telescope: alone / added to the network")
        for name in self.telescopes:
            n = sum(1 for o in self.observations if o.telescope == name)
            texp = ", ".join(f"{t:g}" for t in times.get(name, []))
            lines.append(f"  {name:<14} {100 * self.per_telescope.get(name, 0.0):6.2f} %"
                         f" / {100 * self.per_telescope_added.get(name, 0.0):6.2f} %"
                         f"  ({n} exposures" + (f", {texp} s)" if texp else ")"))
        lines.append(f"  {'network':<14} {100 * self.objective:6.2f} %  (union, counted once)")
        lines.append(f"  probability {self.headline()}")
        if not self.observable:
            lines.append("  not observable in the window")
        lines += [f"  {line}" for line in self.idle_lines()]
        lines.append(f"  bound {100 * self.bound:.2f} %, gap {100 * self.gap:.2f} %: "
                     f"{self.solver_sentence()}")
        lines.append(f"  status {self.status}, solve {self.solve_time:.2f} s, "
                     f"total {self.wall_time:.2f} s")
        return "\n".join(lines)


def idle_lines(idle: dict[str, str], next_time: dict,
               days: float = LOOKAHEAD_DAYS) -> list[tuple[str, str]]:
    """``(telescope, sentence)`` for each idle telescope: why, and when it next could observe.

    ``next_time`` values are datetimes, ISO strings or None (not within the look-ahead).
    """
    out = []
    for name, why in idle.items():
        line = why
        if name in next_time:
            t = next_time[name]
            if t is None:
                if "never rises" not in why:
                    line += f"; not observable from its site within {days:g} days"
            else:
                if isinstance(t, str):
                    t = dt.datetime.fromisoformat(t)
                line += f"; next observable from {t:%Y-%m-%d %H:%M} UTC"
        out.append((name, line))
    return out
