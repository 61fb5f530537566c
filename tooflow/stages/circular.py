"""Draft the GCN Circular of an event's observations and store it."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ..config import Settings
from ..models import CircularDraft, Event, ExecutedObservationRow, Plan
from ..observations import ExecutedObservation
from ..records.coverage import event_coverage
from ..records.event import latest_localization

__all__ = ["draft_circular", "SOURCE_NAMES"]

#: How circulars name the senders.
SOURCE_NAMES = {"LVK": "LIGO/Virgo/KAGRA", "EinsteinProbe": "Einstein Probe"}


def draft_circular(event_pk: int, program: str, *, engine: Engine, settings: Settings,
                   coverage: dict[str, float] | None = None,
                   area: dict[str, float] | None = None) -> int:
    """Render the circular draft of what was observed for an event; store it.

    Parameters
    ----------
    event_pk : int
        The event.
    program : str
        The program whose observations it reports.
    coverage, area : dict, optional
        Probability (0–1) and area (deg²) covered per telescope, from the monitor;
        recomputed from the executed observations and the event's map when omitted.

    Returns
    -------
    int
        Id of the stored :class:`~tooflow.models.CircularDraft`.
    """
    from ..candidates.report import circular_candidates
    from ..circulars import CircularContext, Coverage, authors_from_config, render_circular

    conf = settings.circulars
    with Session(engine, expire_on_commit=False) as session:
        event = session.get(Event, event_pk)
        loc = latest_localization(session, event_pk)
        rows = session.exec(select(ExecutedObservationRow)
                            .where(ExecutedObservationRow.event_pk == event_pk)
                            .order_by(ExecutedObservationRow.obs_time)).all()
        added: dict[str, float] = {}
        if rows and (coverage is None or len({r.telescope for r in rows}) > 1):
            # what each telescope adds to the network (the monitor's figures are each
            # telescope's own union)
            cov, ar, added = event_coverage(session, event_pk, rows, settings, with_added=True)
            if coverage is None:
                coverage, area = cov, ar
        coverage, area = coverage or {}, area or {}
        plan = session.exec(select(Plan).where(Plan.event_pk == event_pk,
                                               Plan.program == program)
                            .order_by(Plan.id.desc())).first()
        telescopes = sorted({r.telescope for r in rows})
        detectable, model_text = _detectable(session, event, rows, plan, program, settings)
        ctx = CircularContext(
            event_id=event.event_id,
            kind=event.kind if event.kind != "other" else "GRB",
            trigger_time=event.time,
            observations=[ExecutedObservation(
                telescope=r.telescope, ra=r.ra, dec=r.dec, filter=r.filter,
                exposure_time=r.exposure_time, obs_time=r.obs_time,
                limiting_magnitude=r.limiting_magnitude, field_id=r.field_id,
                request_key=r.request_key, target=r.target) for r in rows],
            coverage={t: Coverage(probability=coverage.get(t), area=area.get(t),
                                  added=added.get(t) if len(telescopes) > 1 else None)
                      for t in telescopes},
            authors=authors_from_config([a.model_dump() for a in conf.authors]),
            collaboration=conf.collaboration,
            acknowledgements=conf.acknowledgements,
            source=SOURCE_NAMES.get(event.source, event.source),
            notice_type=event.latest_notice_type,
            localization_area=loc.area_90 if loc else None,
            program=plan.program if plan else program,
            candidates=circular_candidates(session, event_pk),
            detectable=detectable, counterpart_model=model_text,
        )
        circular = render_circular(ctx)
        row = CircularDraft(event_pk=event_pk, program=program, subject=circular.subject,
                            body=circular.body)
        session.add(row)
        session.commit()
        return row.id


def _detectable(session: Session, event: Event, rows, plan, program: str,
                settings: Settings) -> tuple[dict[str, float] | None, str | None]:
    """GW events with a 3D map: the fraction of the counterpart model's population the
    executed exposures could have detected, per telescope and together."""
    if event.kind != "GW" or not rows:
        return None, None
    from ..planning.detection import observed_detection, resolve_model
    from ..records.event import load_event_moc
    from .plan import program_by_name

    moc, _ = load_event_moc(session, event.id, settings)
    if moc is None:
        return None, None
    try:
        spec = program_by_name(settings, plan.program if plan else program).strategy.get(
            "counterpart")
    except LookupError:
        spec = None
    model = resolve_model(spec)
    fractions = observed_detection(moc, rows, model, event.time)
    if not fractions:
        return None, None
    name = model.description.split(" (")[0]
    return fractions, f"{name} (σ = {model.spread:g} mag)"
