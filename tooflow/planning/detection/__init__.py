"""The ``detection`` objective: probability of detecting a modelled counterpart.

``coverage`` counts the sky probability inside observed footprints.
``detection`` counts the probability that the counterpart is inside an observed
footprint *and* brighter than that exposure's limiting magnitude at the time it
was taken, each sky pixel once (union over exposures):

* an exposure of field ``k`` reaches a depth ``L = m_lim − M̄(t)``: its limiting
  magnitude (:func:`tooflow.telescopes.limiting_magnitude`, from exposure time,
  airmass, Moon and twilight) minus the counterpart model's mean absolute
  magnitude in that filter at that time since the merger
  (:mod:`tooflow.counterparts`). A field with several visits (ZTF g then r)
  reaches the smallest ``L`` of its visits: it counts when the source is seen
  in every visit the strategy asks for;
* at a sky pixel the counterpart (distance ``r`` from the map's distance
  ansatz, brightness offset ``δ ~ N(0, σ)``) is detected by any exposure
  covering it iff ``DM(r) + δ ≤ max L`` over those exposures, so the union is
  ``P_j · F_j(max L)`` with ``F_j`` the distribution function of ``DM + δ``
  there (:func:`tooflow.counterparts.distance_modulus_cdf`).

Depths are put on levels of :data:`LEVEL_STEP` mag, rounded down. The MIP keeps
the block model of :mod:`.solver` (one binary per field, exposure time, visit
and block) and replaces the union objective by a staircase per sky region:
``y[r, s] ≤ Σ (first visits of fields covering r whose level ≥ s)``, objective
``Σ_r Σ_s (W[r, s] − W[r, s⁻]) y[r, s]``, with ``W[r, s] = Σ_{j∈r} P_j F_j(L_s)``.
The later visits of a field come at most ``Strategy.max_gap`` after its first,
and a block's depth is taken at its end plus that gap for each later visit, so
a counterpart fading during the window counts as faint as it can be in that block.

The package's modules: :mod:`.inputs` (model, merger time, distance layers,
levels, exposure options), :mod:`.depth` (conditions, limiting magnitudes, row
depths), :mod:`.objective` (attaching to a problem, the MIP's staircase terms),
:mod:`.scoring` (timed exposures' levels and detection probability),
:mod:`.heuristics` (pruning, fill-in, incumbent), :mod:`.working_set` (bound and
working set of large models) and :mod:`.observed` (executed exposures).
"""

from __future__ import annotations

from .depth import (
    conditions,
    limiting_magnitude,
    part_depths,
)
from .heuristics import (
    assignment_value,
    fill_idle_detection,
    incumbent,
    prune_detection,
)
from .inputs import (
    DEFAULT_EXPOSURE_OPTIONS,
    DISTANCE_ORDER,
    LEVEL_STEP,
    Detection,
    DetectionInputs,
    distance_layers,
    distance_layers_order,
    event_time_of,
    exposure_options,
    prepare_detection,
    resolve_model,
    unix_time,
)
from .objective import (
    SCORING_RANGE,
    TERM_TOLERANCE,
    add_detection_objective,
    attach_detection,
    field_groups,
    region_terms,
)
from .observed import observed_detection
from .scoring import (
    detection_probability,
    exposure_levels,
    marginal_values,
)
from .working_set import (
    MAX_BLOCK_VARIABLES,
    WORKING_SET_VARIABLES,
    reachable_total,
    working_set,
)

__all__ = [
    "DEFAULT_EXPOSURE_OPTIONS",
    "DISTANCE_ORDER",
    "Detection",
    "DetectionInputs",
    "LEVEL_STEP",
    "MAX_BLOCK_VARIABLES",
    "SCORING_RANGE",
    "TERM_TOLERANCE",
    "WORKING_SET_VARIABLES",
    "add_detection_objective",
    "assignment_value",
    "attach_detection",
    "conditions",
    "detection_probability",
    "distance_layers",
    "distance_layers_order",
    "event_time_of",
    "exposure_levels",
    "exposure_options",
    "field_groups",
    "fill_idle_detection",
    "incumbent",
    "limiting_magnitude",
    "marginal_values",
    "observed_detection",
    "part_depths",
    "prepare_detection",
    "prune_detection",
    "reachable_total",
    "region_terms",
    "resolve_model",
    "unix_time",
    "working_set",
]
