"""Draft GCN Circulars from the observations a follow-up campaign executed.

A draft is rendered from a :class:`CircularContext` (plain data: the event, the
executed observations, the per-telescope coverage, the authors) with one Jinja
template per event kind in ``tooflow/templates/`` (``gw.txt.j2``,
``grb.txt.j2``, ``neutrino.txt.j2``, ``supernova.txt.j2``, ``xray.txt.j2``),
which share ``_circular.txt.j2`` and the macros of ``_observations_table.j2``.

The wording follows real follow-up circulars of the ZTF/GROWTH collaborations
(e.g. GCN 34294, 34397, 34755): a subject ``<event>: <telescopes> observations``,
``<authors> report on behalf of <team>:``, one paragraph per telescope (filters,
start time and delay from the trigger, fields, area, probability covered,
median limiting magnitudes), a fixed-width table of the observations, and the
acknowledgements. Like the LVK circulars rendered by ligo-followup-advocate, the
draft starts with a ``SUBJECT:`` line and prose is wrapped at 80 columns.

What people do with a draft afterwards (every saved version kept, one marked as
sent): :mod:`tooflow.circulars.versions`.

>>> oxford_join(["ZTF", "DECam", "KPED"])
'ZTF, DECam, and KPED'
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jinja2

from tooflow.notice import EventKind
from tooflow.observations import ExecutedObservation

__all__ = [
    "Author",
    "Coverage",
    "Candidate",
    "CircularContext",
    "Circular",
    "TelescopeSummary",
    "TEMPLATES",
    "oxford_join",
    "hours_after",
    "format_delay",
    "median_limiting_magnitude",
    "distinct_fields",
    "ordered_filters",
    "summarize_telescope",
    "authors_from_config",
    "render_circular",
]

#: Template used for each event kind.
TEMPLATES: dict[str, str] = {
    "GW": "gw.txt.j2",
    "GRB": "grb.txt.j2",
    "neutrino": "neutrino.txt.j2",
    "supernova": "supernova.txt.j2",
    "X-ray": "xray.txt.j2",
    "FRB": "frb.txt.j2",
}

#: Filters in order of increasing wavelength; others follow alphabetically.
_FILTER_ORDER = ["u", "g", "r", "i", "z", "y", "J", "H", "Ks", "K"]

#: Width prose is wrapped at (characters), as in ligo-followup-advocate drafts.
TEXT_WIDTH = 80


@dataclass(frozen=True)
class Author:
    """One author of a circular; ``affiliation`` is printed in parentheses."""

    name: str
    affiliation: str | None = None

    def __str__(self) -> str:
        return f"{self.name} ({self.affiliation})" if self.affiliation else self.name


@dataclass(frozen=True)
class Coverage:
    """What one telescope's executed observations covered of the localization.

    Attributes
    ----------
    probability : float or None
        Cumulative localization probability covered, as a fraction in [0, 1].
    area : float or None
        Sky area covered, deg² (footprints counted once).
    added : float or None
        What it adds to the network: the probability no other telescope's
        executed observations cover (None: unknown, or it observed alone).
    """

    probability: float | None = None
    area: float | None = None
    added: float | None = None


@dataclass(frozen=True)
class Candidate:
    """A candidate counterpart, for the candidates table.

    Attributes
    ----------
    name : str
        IAU/TNS name (``AT2023rkw``) or the survey's name.
    ra, dec : float
        Position, degrees ICRS.
    alias : str or None
        Survey name (``ZTF23abawyxp``).
    discovery_time : datetime.datetime or None
        First detection, UTC.
    magnitude : float or None
        Discovery magnitude (AB).
    filter : str or None
        Filter of the discovery magnitude.
    host : str or None
        Likely host galaxy (catalogue name).
    host_distance_mpc : float or None
        The host's distance, Mpc.
    host_offset_arcsec : float or None
        The candidate's separation from the host's centre, arcsec.
    notes : str or None
        One line after the table (classification, redshift, reference).
    """

    name: str
    ra: float
    dec: float
    alias: str | None = None
    discovery_time: dt.datetime | None = None
    magnitude: float | None = None
    filter: str | None = None
    host: str | None = None
    host_distance_mpc: float | None = None
    host_offset_arcsec: float | None = None
    notes: str | None = None


@dataclass
class CircularContext:
    """Everything a circular draft says, as plain data.

    Attributes
    ----------
    event_id : str
        The event id tooflow uses (``S230518h``, ``IceCube-230727A``...).
    kind : EventKind
        ``GW``, ``GRB``, ``neutrino``, ``supernova`` or ``X-ray``.
    trigger_time : datetime.datetime
        Event (trigger) time, UTC, timezone-aware.
    observations : sequence of ExecutedObservation
        The exposures taken for this event (any telescopes, any order).
    coverage : mapping of str to Coverage
        Per telescope name, the probability and area covered.
    authors : sequence of Author or str
        Authors, in order.
    collaboration : str
        Who the authors report on behalf of (``the ZTF and GROWTH collaborations``).
    acknowledgements : str
        Closing paragraph(s); blank lines separate paragraphs.
    event_name : str or None
        Name of the event as circulars write it (``GRB 230812B``); default ``event_id``.
    source : str or None
        Who announced the event (``LIGO/Virgo/KAGRA``, ``Fermi GBM``, ``IceCube``,
        ``SNEWS``, ``Einstein Probe``).
    notice_type : str or None
        Type of the notice the plan used (LVK alert type ``PRELIMINARY``,
        ``INITIAL``, ``UPDATE``; GCN packet type otherwise).
    discovery_gcn : int or None
        Number of the GCN Circular that announced the event, if known.
    localization_area : float or None
        90% credible area of the localization, deg².
    skymap : str or None
        Sky map the plan used (``bayestar.multiorder.fits,1``).
    program : str or None
        Science program that triggered the observations.
    candidates : sequence of Candidate or None
        Candidates that passed vetting; None when no search was reported (no
        sentence), empty for "no candidates".
    detectable : mapping of str to float or None
        GW events with a 3D map: per telescope (and ``network``), the fraction of
        the counterpart model's population the executed exposures could have
        detected (limiting magnitudes reached, the map's distance posterior).
    counterpart_model : str or None
        The counterpart model those fractions refer to, in words.
    """

    event_id: str
    kind: EventKind
    trigger_time: dt.datetime
    observations: Sequence[ExecutedObservation] = ()
    coverage: Mapping[str, Coverage] = field(default_factory=dict)
    authors: Sequence[Author | str] = ()
    collaboration: str = ""
    acknowledgements: str = ""
    event_name: str | None = None
    source: str | None = None
    notice_type: str | None = None
    discovery_gcn: int | None = None
    localization_area: float | None = None
    skymap: str | None = None
    program: str | None = None
    candidates: Sequence[Candidate] | None = None
    detectable: Mapping[str, float] | None = None
    counterpart_model: str | None = None


@dataclass(frozen=True)
class Circular:
    """A rendered draft: the subject line and the body (without ``SUBJECT:``)."""

    subject: str
    body: str

    @property
    def text(self) -> str:
        """The whole draft, ``SUBJECT: ...``, a blank line, then the body."""
        return f"SUBJECT: {self.subject}\n\n{self.body}"


@dataclass(frozen=True)
class TelescopeSummary:
    """What one telescope did for the event, as the circular states it.

    Attributes
    ----------
    telescope : str
        Facility name.
    filters : tuple of str
        Filters used, bluest first.
    start : datetime.datetime
        Start of the first exposure, UTC.
    delay_hours : float
        Hours from the trigger to ``start``.
    n_fields : int
        Distinct fields (or pointed targets) observed.
    n_exposures : int
        Exposures taken.
    exposure_times : tuple of float
        Distinct exposure times, seconds, ascending.
    median_limits : dict of str to float
        Median limiting magnitude (AB) per filter, for filters that have any.
    probability : float or None
        Cumulative probability covered (fraction), if known.
    area : float or None
        Area covered, deg², if known.
    added : float or None
        Probability covered by this telescope and no other (fraction), if known
        and other telescopes observed too.
    observations : tuple of ExecutedObservation
        The exposures, in time order.
    """

    telescope: str
    filters: tuple[str, ...]
    start: dt.datetime
    delay_hours: float
    n_fields: int
    n_exposures: int
    exposure_times: tuple[float, ...]
    median_limits: dict[str, float]
    probability: float | None
    area: float | None
    observations: tuple[ExecutedObservation, ...]
    added: float | None = None


def oxford_join(names: Iterable[object], conjunction: str = "and") -> str:
    """Join items as an English list with an Oxford comma.

    Parameters
    ----------
    names : iterable
        Items, converted with :func:`str`.
    conjunction : str
        Word before the last item.

    Examples
    --------
    >>> oxford_join([])
    ''
    >>> oxford_join(["g"])
    'g'
    >>> oxford_join(["g", "r"])
    'g and r'
    >>> oxford_join(["g", "r", "i"], "or")
    'g, r, or i'
    """
    items = [str(n) for n in names]
    if len(items) <= 1:
        return "".join(items)
    if len(items) == 2:
        return f"{items[0]} {conjunction} {items[1]}"
    return f"{', '.join(items[:-1])}, {conjunction} {items[-1]}"


def _require_aware(when: dt.datetime, what: str) -> None:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (UTC), got naive {when.isoformat()}")


def hours_after(trigger_time: dt.datetime, when: dt.datetime) -> float:
    """Hours from the trigger to ``when`` (negative if before).

    Parameters
    ----------
    trigger_time, when : datetime.datetime
        Timezone-aware times.

    Returns
    -------
    float
        Delay, hours.

    Examples
    --------
    >>> t0 = dt.datetime(2023, 8, 12, 18, 58, 12, tzinfo=dt.timezone.utc)
    >>> round(hours_after(t0, t0 + dt.timedelta(hours=8, minutes=30)), 2)
    8.5
    """
    _require_aware(trigger_time, "trigger time")
    _require_aware(when, "observation time")
    return (when - trigger_time).total_seconds() / 3600.0


def format_delay(hours: float) -> str:
    """Describe a delay the way circulars do: minutes, hours or days.

    Parameters
    ----------
    hours : float
        Delay, hours (non-negative).

    Examples
    --------
    >>> format_delay(0.25)
    '~15 minutes'
    >>> format_delay(8.46)
    '~8.5 hours'
    >>> format_delay(50.4)
    '~2.1 days'
    """
    if hours < 1.0:
        return f"~{round(hours * 60):d} minutes"
    if hours < 48.0:
        return f"~{hours:.1f} hours"
    return f"~{hours / 24.0:.1f} days"


def median_limiting_magnitude(
    observations: Iterable[ExecutedObservation], filter: str | None = None
) -> float | None:
    """Median limiting magnitude (AB) of the exposures that report one.

    Parameters
    ----------
    observations : iterable of ExecutedObservation
        Exposures; those without a limiting magnitude are ignored.
    filter : str, optional
        Only exposures in this filter.

    Returns
    -------
    float or None
        Median magnitude (AB), or None when no exposure reports one.
    """
    mags = [
        o.limiting_magnitude
        for o in observations
        if o.limiting_magnitude is not None and (filter is None or o.filter == filter)
    ]
    return float(statistics.median(mags)) if mags else None


def _field_key(obs: ExecutedObservation) -> tuple[Any, ...]:
    if obs.field_id is not None:
        return ("field", obs.field_id)
    if obs.target:
        return ("target", obs.target)
    return ("position", round(obs.ra, 4), round(obs.dec, 4))


def distinct_fields(observations: Iterable[ExecutedObservation]) -> int:
    """Number of distinct fields observed (field id, else target, else position)."""
    return len({_field_key(o) for o in observations})


def ordered_filters(observations: Iterable[ExecutedObservation]) -> tuple[str, ...]:
    """Filters used, bluest first (u g r i z y J H Ks K), others alphabetically after."""
    names = {o.filter for o in observations}

    def rank(name: str) -> tuple[int, str]:
        return (_FILTER_ORDER.index(name), name) if name in _FILTER_ORDER else (99, name)

    return tuple(sorted(names, key=rank))


def summarize_telescope(
    telescope: str,
    observations: Sequence[ExecutedObservation],
    trigger_time: dt.datetime,
    coverage: Coverage | None = None,
) -> TelescopeSummary:
    """Summarize one telescope's exposures for the circular.

    Parameters
    ----------
    telescope : str
        Facility name.
    observations : sequence of ExecutedObservation
        That telescope's exposures (at least one).
    trigger_time : datetime.datetime
        Event time, UTC, timezone-aware.
    coverage : Coverage, optional
        Probability and area covered by these exposures.
    """
    if not observations:
        raise ValueError(f"no observations to summarize for {telescope}")
    for o in observations:
        _require_aware(o.obs_time, f"{telescope} observation time")
    ordered = tuple(sorted(observations, key=lambda o: (o.obs_time, _field_key(o), o.filter)))
    filters = ordered_filters(ordered)
    limits = {}
    for f in filters:
        m = median_limiting_magnitude(ordered, f)
        if m is not None:
            limits[f] = m
    coverage = coverage or Coverage()
    return TelescopeSummary(
        telescope=telescope,
        filters=filters,
        start=ordered[0].obs_time.astimezone(dt.UTC),
        delay_hours=hours_after(trigger_time, ordered[0].obs_time),
        n_fields=distinct_fields(ordered),
        n_exposures=len(ordered),
        exposure_times=tuple(sorted({float(o.exposure_time) for o in ordered})),
        median_limits=limits,
        probability=coverage.probability,
        area=coverage.area,
        observations=ordered,
        added=coverage.added,
    )


def authors_from_config(items: Iterable[str | Mapping[str, str]]) -> list[Author]:
    """Authors from configuration: strings, or mappings with ``name``/``affiliation``.

    Examples
    --------
    >>> authors_from_config(["A. Ho", {"name": "M. Coughlin", "affiliation": "UMN"}])
    [Author(name='A. Ho', affiliation=None), Author(name='M. Coughlin', affiliation='UMN')]
    """
    authors = []
    for item in items:
        if isinstance(item, str):
            authors.append(Author(item))
        elif isinstance(item, Mapping) and item.get("name"):
            authors.append(Author(str(item["name"]), item.get("affiliation") or None))
        else:
            raise ValueError(f"author entry needs a name: {item!r}")
    return authors


# --- rendering --------------------------------------------------------------------


def _rewrap(text: str, width: int = TEXT_WIDTH) -> str:
    """Wrap each blank-line-separated paragraph of ``text`` at ``width`` columns."""
    paragraphs = [" ".join(p.split()) for p in text.strip().split("\n\n")]
    return "\n\n".join(
        textwrap.fill(p, width, break_long_words=False, break_on_hyphens=False)
        for p in paragraphs
        if p
    )


def _utc(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _band_list(filters: Sequence[str]) -> str:
    """``g- and r-band``, ``r-band``, ``g-, r-, and i-band``."""
    if len(filters) == 1:
        return f"{filters[0]}-band"
    return oxford_join([f"{f}-" for f in filters[:-1]] + [f"{filters[-1]}-band"])


def _seconds(values: Sequence[float]) -> str:
    return oxford_join(f"{v:g}" for v in values) + " s"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("tooflow", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # plain text, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        rewrap=_rewrap,
        oxford_join=oxford_join,
        utc=_utc,
        utc_plain=lambda when: _utc(when).removesuffix(" UTC"),
        delay=format_delay,
        band_list=_band_list,
        seconds=_seconds,
    )
    env.globals["hours_after"] = hours_after
    return env


def render_circular(ctx: CircularContext) -> Circular:
    """Render the draft GCN Circular for an event.

    Parameters
    ----------
    ctx : CircularContext
        The event, observations, coverage, authors and acknowledgements.

    Returns
    -------
    Circular
        Subject and body; ``Circular.text`` is the whole draft.

    Raises
    ------
    ValueError
        For an event kind without a template, or times without a time zone.
    """
    template_name = TEMPLATES.get(ctx.kind)
    if template_name is None:
        raise ValueError(
            f"no circular template for event kind {ctx.kind!r} "
            f"(known: {', '.join(sorted(TEMPLATES))})"
        )
    _require_aware(ctx.trigger_time, "trigger time")
    by_telescope: dict[str, list[ExecutedObservation]] = {}
    for obs in ctx.observations:
        by_telescope.setdefault(obs.telescope, []).append(obs)
    summaries = [
        summarize_telescope(name, obs, ctx.trigger_time, ctx.coverage.get(name))
        for name, obs in by_telescope.items()
    ]
    summaries.sort(key=lambda s: (s.start, s.telescope))
    text = _environment().get_template(template_name).render(
        ctx=ctx,
        event_name=ctx.event_name or ctx.event_id,
        authors=[str(a) for a in ctx.authors],
        summaries=summaries,
        telescopes=[s.telescope for s in summaries],
    )
    text = "\n".join(line.rstrip() for line in text.splitlines())
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"
    first, _, rest = text.partition("\n")
    if not first.startswith("SUBJECT: "):
        raise RuntimeError(f"template {template_name} must start with 'SUBJECT: '")
    body = rest.lstrip("\n")
    return Circular(subject=first.removeprefix("SUBJECT: ").strip(), body=body)
