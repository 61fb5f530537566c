"""Timed exposures → a :class:`~.result.Plan`, scored under the problem's objective.

:func:`plan_from_exposures` keeps the fields whose visits are all planned and
computes the network's objective (probability covered, or of detection under the
counterpart model), each telescope's alone and what it adds to the network.
"""

from __future__ import annotations

import datetime as dt

from tooflow.observations import PlannedObservation

from .problem import Problem
from .result import Plan
from .sequence import Exposure, completed_candidates

__all__ = ["plan_from_exposures"]


def plan_from_exposures(
    problem: Problem, exposures: list[Exposure], *, bound: float, solve_time: float,
    status: str, wall_time: float = 0.0, notes: list[str] | None = None,
) -> Plan:
    """Turn timed exposures into a :class:`Plan`, computing coverage from them."""
    done = completed_candidates(problem, exposures)
    exposures = [e for e in exposures if e.candidate in done]
    covered = problem.union_probability(done)
    det = getattr(problem, "detection", None)
    detected = None
    levels: dict[int, int] = {}
    pixels = None
    if det is not None:
        from .detection import detection_probability, exposure_levels
        from .value import candidate_pixels

        pixels = candidate_pixels(problem)
        levels = exposure_levels(problem, exposures)
        detected = detection_probability(problem, levels, pixels)
    by_detection = problem.objective == "detection" and det is not None

    def score(cands) -> float:
        if by_detection:
            return detection_probability(problem, {i: levels[i] for i in cands if i in levels},
                                         pixels)
        return problem.union_probability(cands)

    objective = detected if by_detection else covered
    per_tel, added = {}, {}
    obs = []
    for part in problem.parts:
        mine = [i for i in done if part.offset <= i < part.offset + len(part)]
        per_tel[part.telescope.name] = score(mine)
        others = [i for i in done if not part.offset <= i < part.offset + len(part)]
        added[part.telescope.name] = objective - score(others) if mine else 0.0
    part_of = {}
    for part in problem.parts:
        for k in range(len(part)):
            part_of[part.offset + k] = (part, k)
    for e in sorted(exposures, key=lambda e: (part_of[e.candidate][0].telescope.name, e.start)):
        part, k = part_of[e.candidate]
        fid = int(part.field_ids[k])
        obs.append(PlannedObservation(
            telescope=part.telescope.name,
            ra=float(part.ra[k]), dec=float(part.dec[k]),
            filter=part.filters[e.visit], exposure_time=float(e.duration),
            start_time=dt.datetime.fromtimestamp(e.start, dt.UTC),
            probability=float(part.prob[k]), visit=e.visit + 1,
            field_id=fid if fid >= 0 else None,
            target=part.names[k] if part.names else None,
        ))
    bound = max(bound, objective)
    gap = (bound - objective) / bound if bound > 0 else 0.0
    return Plan(observations=obs, objective=objective, bound=bound, gap=gap,
                solve_time=solve_time, status=status, per_telescope=per_tel,
                start=problem.start, end=problem.end, wall_time=wall_time,
                telescopes=[p.telescope.name for p in problem.parts],
                notes=list(problem.notes) + list(notes or []),
                objective_name=problem.objective if by_detection else "coverage",
                covered=covered, detected=detected,
                counterpart=det.model.description if det is not None else None,
                per_telescope_added=added)
