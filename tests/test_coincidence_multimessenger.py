"""Multi-messenger coincidences (tooflow.stages.coincidence) on real sky maps."""

from __future__ import annotations

import datetime as dt
import hashlib
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table
from ligo.skymap.moc import rasterize
from sqlmodel import Session, select

from tooflow.config import load_settings
from tooflow.intake.store import store_notice
from tooflow.models import Event, Localization, MultimessengerCoincidence, Notice
from tooflow.records.event import joint_skymap_sha256
from tooflow.skymap import SkymapStore, moc_to_bytes, read_skymap_bytes, summarize
from tooflow.stages.coincidence import (
    coincidence_fields,
    find_coincidences,
    joint_skymap,
)
from tooflow.stages.parse import parse_stored_notice

DATA = Path(__file__).parent / "data"
GW_MAP = DATA / "coincidence" / "MS190227n_bayestar.fits.gz"
FERMI_MAP = DATA / "skymaps" / "fermi_skymap.fits.gz"
GBM_MAP = DATA / "skymaps" / "glg_healpix_all_bn180116026.fit"
SMALL_GW_MAP = DATA / "skymaps" / "rrt_small_area.fits"
EXT_UPDATE = DATA / "lvk" / "avro" / "MS181101ab-ext-update.avro"


@cache
def _read_once(path: Path) -> Table:
    return read_skymap_bytes(path.read_bytes())


def read(path: Path) -> Table:
    """The map at ``path``, read once per session (each caller gets its own copy)."""
    return _read_once(path).copy()


@cache
def _stored_bytes(path: Path) -> bytes:
    """The map at ``path`` as tooflow stores it (multi-order FITS), made once."""
    return moc_to_bytes(_read_once(path))


def brute_force_overlap(a: Table, b: Table, order: int = 8) -> float:
    pa = rasterize(a[["UNIQ", "PROBDENSITY"]], order=order)["PROBDENSITY"]
    pb = rasterize(b[["UNIQ", "PROBDENSITY"]], order=order)["PROBDENSITY"]
    area = 4 * np.pi / len(pa)
    return float(4 * np.pi * np.sum(pa * pb * area) / (np.sum(pa * area) * np.sum(pb * area)))


def test_joint_map_of_a_gw_and_a_fermi_localization():
    gw, fermi = read(GW_MAP), read(FERMI_MAP)
    joint = joint_skymap(gw, fermi)
    s, s_gw, s_fermi = summarize(joint.moc), summarize(gw), summarize(fermi)
    assert s.total_prob == pytest.approx(1.0, abs=1e-9)
    assert joint.regions_intersect
    assert joint.overlap == pytest.approx(brute_force_overlap(gw, fermi), rel=0.02)
    assert joint.overlap > 1  # the maps agree better than chance
    assert s.area_90 < min(s_gw.area_90, s_fermi.area_90)
    # the joint map is a refinement of both: every pixel at least as fine as the GW's
    assert len(joint.moc) >= len(gw)


def test_uniform_partner_gives_back_the_gw_map_and_overlap_one():
    gw = read(SMALL_GW_MAP)
    uniform = Table({"UNIQ": np.arange(4, 16), "PROBDENSITY": np.full(12, 1 / (4 * np.pi))})
    joint = joint_skymap(gw, uniform)
    assert joint.overlap == pytest.approx(1.0, rel=1e-9)
    order = np.argsort(gw["UNIQ"])
    assert np.allclose(np.asarray(joint.moc["PROBDENSITY"]),
                       np.asarray(gw["PROBDENSITY"])[order] / summarize(gw).total_prob)


def test_maps_far_apart_do_not_overlap():
    joint = joint_skymap(read(SMALL_GW_MAP), read(FERMI_MAP))
    assert not joint.regions_intersect and joint.overlap < 0.01


def add_event(session: Session, store: SkymapStore, event_id: str, kind: str,
              time: dt.datetime, skymap: Path | None, *, is_mock: bool = True) -> Event:
    """An event row with a stored map (the map's bytes stand as its notice)."""
    event = Event(event_id=event_id, kind=kind, source="test", time=time, is_mock=is_mock)
    session.add(event)
    session.flush()
    if skymap is not None:
        data = skymap.read_bytes()
        notice = Notice(sha256=hashlib.sha256(data + event_id.encode()).hexdigest(),
                        payload=data, size=len(data), source=f"test:{skymap.name}")
        session.add(notice)
        session.flush()
        sha, _ = store.put(_stored_bytes(skymap))
        session.add(Localization(event_pk=event.id, notice_id=notice.id, state="stored",
                                 skymap_sha256=sha))
        session.flush()
    return event


def test_raven_ext_update_fermi_grb_in_time_but_not_on_the_sky(sqlite_engine):
    """MS181101ab's ext-update names a Fermi GRB 2.02 s after the GW; with gwcelery's Fermi
    test map as its localization the 90% regions are apart: no coincidence recorded."""
    stored = store_notice(EXT_UPDATE.read_bytes(), "test", engine=sqlite_engine)
    parsed = parse_stored_notice(stored.notice_id, engine=sqlite_engine)
    store = SkymapStore(load_settings().resolved_skymap_dir)
    with Session(sqlite_engine) as session:
        gw = session.get(Event, parsed.event_pk)
        assert gw.event_id == "MS181101ab"
        grb = add_event(session, store, "Fermi-GBM-524666471", "GRB",
                        gw.time + dt.timedelta(seconds=2.02), FERMI_MAP)
        assert find_coincidences(session, grb.id, store=store) == []
        assert coincidence_fields(session, gw.id) == {
            "coincident_with": [], "coincident_kinds": [], "overlap": 0.0}


def test_coincidence_recorded_with_joint_map_and_gate_fields(engine):
    store = SkymapStore(load_settings().resolved_skymap_dir)
    t_gw = dt.datetime(2019, 2, 27, 0, 0, tzinfo=dt.UTC)
    with Session(engine) as session:
        gw = add_event(session, store, "MS190227n", "GW", t_gw, GW_MAP)
        grb = add_event(session, store, "Fermi-GBM-524666471", "GRB",
                        t_gw + dt.timedelta(seconds=2.02), FERMI_MAP)
        late = add_event(session, store, "Fermi-GBM-late", "GRB",
                         t_gw + dt.timedelta(seconds=5.5), FERMI_MAP)
        add_event(session, store, "Fermi-GBM-early", "GRB",
                  t_gw - dt.timedelta(seconds=1.0), FERMI_MAP)
        real = add_event(session, store, "Fermi-GBM-real", "GRB",
                         t_gw + dt.timedelta(seconds=1), FERMI_MAP, is_mock=False)
        found = find_coincidences(session, gw.id, store=store)
        session.commit()
        assert sorted(session.get(Event, r.external_event_pk).event_id for r in found) == [
            "Fermi-GBM-524666471", "Fermi-GBM-early"]
        row = next(r for r in found if r.external_event_pk == grb.id)
        assert row.time_offset == pytest.approx(2.02)
        assert (row.window_start, row.window_end) == (-1.0, 5.0)
        assert row.overlap == pytest.approx(joint_skymap(read(GW_MAP), read(FERMI_MAP)).overlap)
        joint = read_skymap_bytes(store.path(row.joint_skymap_sha256).read_bytes())
        assert summarize(joint).area_90 == pytest.approx(row.joint_area_90)
        # the same pair found again from the GRB side updates the row, never duplicates it
        assert len(find_coincidences(session, grb.id, store=store)) == 1
        assert find_coincidences(session, late.id, store=store) == []
        assert find_coincidences(session, real.id, store=store) == []
        session.commit()
        assert len(session.exec(select(MultimessengerCoincidence)).all()) == 2

        fields = coincidence_fields(session, gw.id)
        assert sorted(fields["coincident_with"]) == ["Fermi-GBM-524666471", "Fermi-GBM-early"]
        assert fields["coincident_kinds"] == ["GRB", "GRB"]
        assert fields["overlap"] == pytest.approx(row.overlap)
        assert fields["joint_area_90"] > 0
        assert coincidence_fields(session, grb.id)["coincident_with"] == ["MS190227n"]
        assert joint_skymap_sha256(session, gw.id) == row.joint_skymap_sha256
        assert joint_skymap_sha256(session, late.id) is None


def test_neutrino_window_is_500_seconds(sqlite_engine):
    store = SkymapStore(load_settings().resolved_skymap_dir)
    t_gw = dt.datetime(2019, 2, 27, 0, 0, tzinfo=dt.UTC)
    with Session(sqlite_engine) as session:
        gw = add_event(session, store, "MS190227n", "GW", t_gw, GW_MAP)
        inside = add_event(session, store, "IceCube-in", "neutrino",
                           t_gw - dt.timedelta(seconds=499), FERMI_MAP)
        add_event(session, store, "IceCube-out", "neutrino",
                  t_gw + dt.timedelta(seconds=501), FERMI_MAP)
        found = find_coincidences(session, gw.id, store=store)
        assert [r.external_event_pk for r in found] == [inside.id]
        assert found[0].external_kind == "neutrino" and found[0].window_start == -500.0
        narrow = find_coincidences(session, gw.id, store=store,
                                   windows={"neutrino": (-100.0, 100.0)})
        assert narrow == []
