"""Tests of tooflow.circulars: golden drafts and the structure of real GCN Circulars.

The executed observations are built on real inputs: the real S230518h INITIAL
notice (trigger time, alert type, sky map), trigger times of GRB 230812B and
IceCube-230727A from their real circulars, and real ZTF field ids and centres
from the official ZTF field grid. Limiting magnitudes and start times are
inputs chosen for the test (no telescope observed these exact exposures).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import doctest
import functools
import io
import json
import os
import re
import statistics
from pathlib import Path

import numpy as np
import pytest

import tooflow.circulars
from tooflow.circulars import (
    Author,
    Candidate,
    CircularContext,
    Coverage,
    authors_from_config,
    distinct_fields,
    format_delay,
    hours_after,
    median_limiting_magnitude,
    ordered_filters,
    oxford_join,
    render_circular,
)
from tooflow.observations import ExecutedObservation

DATA = Path(__file__).parent / "data" / "circulars"
EXPECTED = DATA / "expected"
UTC = dt.UTC

ZTF_ACK = (
    "ZTF and GROWTH are worldwide collaborations comprising Caltech, USA; IPAC, USA; WIS, "
    "Israel; OKC, Sweden; JSI/UMd, USA; DESY, Germany; TANGO, Taiwan; UW Milwaukee, USA; "
    "LANL, USA; TCD, Ireland; IN2P3, France.\n\n"
    "GROWTH acknowledges generous support of the NSF under PIRE Grant No 1545949."
)
AUTHORS = [
    Author("Tomas Ahumada", "CIT"),
    Author("Shreya Anand", "CIT"),
    Author("Michael Coughlin", "UMN"),
    Author("Mansi Kasliwal", "CIT"),
]


# --- real inputs ---------------------------------------------------------------------


def ztf_fields() -> dict[int, tuple[float, float]]:
    """Field id -> (RA, Dec) degrees, from the official ZTF grid."""
    table = np.loadtxt(DATA.parent / "telescopes" / "ztf" / "ZTF_Fields.txt", comments="%",
                       usecols=(0, 1, 2))
    return {int(row[0]): (float(row[1]), float(row[2])) for row in table}


@functools.cache
def real_circulars() -> dict[int, dict]:
    data = json.loads((DATA / "gcn_circulars_seed_508_followup.json").read_text())
    return {c["circularId"]: c for c in data["circulars"]}


@functools.cache
def s230518h_notice() -> dict:
    # Shared with the LVK parser tests.
    return json.loads((DATA.parent / "lvk" / "json" / "S230518h-initial.json").read_text())


@functools.cache
def area90_deg2(skymap_b64: str) -> float:
    """90% credible area of a multi-order sky map, deg² (computed independently of tooflow)."""
    import astropy_healpix as ah
    from astropy.table import Table

    table = Table.read(io.BytesIO(base64.b64decode(skymap_b64)))
    level, _ = ah.uniq_to_level_ipix(table["UNIQ"])
    pixel_area = ah.nside_to_pixel_area(ah.level_to_nside(level)).to_value("sr")
    density = np.asarray(table["PROBDENSITY"])
    order = np.argsort(-density)
    cumulative = np.cumsum((density * pixel_area)[order])
    n = int(np.searchsorted(cumulative, 0.9)) + 1
    return float(pixel_area[order][:n].sum() * (180 / np.pi) ** 2)


def ztf_visits(
    field_ids: list[int],
    filters: str,
    start: dt.datetime,
    exposure: float,
    limits: dict[str, list[float]],
    *,
    telescope: str = "ZTF",
    gap: dt.timedelta = dt.timedelta(minutes=1),
) -> list[ExecutedObservation]:
    """One exposure per field per filter, filter blocks in sequence (as ZTF ToO plans do)."""
    grid = ztf_fields()
    obs = []
    t = start
    for f in filters:
        for i, field_id in enumerate(field_ids):
            ra, dec = grid[field_id]
            obs.append(
                ExecutedObservation(
                    telescope=telescope,
                    ra=ra,
                    dec=dec,
                    filter=f,
                    exposure_time=exposure,
                    obs_time=t,
                    limiting_magnitude=limits[f][i],
                    field_id=field_id,
                    request_key=f"{telescope}:f{field_id}:{f}:1",
                )
            )
            t += gap + dt.timedelta(seconds=exposure)
    return obs


def s230518h_context() -> CircularContext:
    alert = s230518h_notice()
    t0 = dt.datetime.fromisoformat(alert["event"]["time"].replace("Z", "+00:00"))
    # ZTF fields with the most S230518h probability inside their footprint.
    fields = [358, 308, 409, 259, 458, 408]
    obs = ztf_visits(
        fields,
        "gr",
        dt.datetime(2023, 5, 19, 3, 31, 12, tzinfo=UTC),
        30.0,
        {
            "g": [20.61, 20.48, 20.72, 20.35, 20.80, 20.66],
            "r": [20.52, 20.41, 20.63, 20.20, 20.71, 20.58],
        },
    )
    return CircularContext(
        event_id=alert["superevent_id"],
        kind="GW",
        trigger_time=t0,
        observations=obs,
        coverage={"ZTF": Coverage(probability=0.381, area=255.4)},
        authors=AUTHORS,
        collaboration="the ZTF and GROWTH collaborations",
        acknowledgements=ZTF_ACK,
        source="LIGO/Virgo/KAGRA",
        notice_type=alert["alert_type"],
        skymap="bayestar.multiorder.fits,1",
        localization_area=area90_deg2(alert["event"]["skymap"]),
        program="ZTF GW neutron-star mergers",
    )


def grb230812b_context() -> CircularContext:
    # Trigger time from GCN 34391 ("At 18:58:12.05 UT on 12 August 2023").
    t0 = dt.datetime(2023, 8, 12, 18, 58, 12, 50000, tzinfo=UTC)
    fields = [762, 1761, 723, 761, 1798, 1762]
    ztf = ztf_visits(
        fields,
        "gr",
        dt.datetime(2023, 8, 13, 3, 34, 57, tzinfo=UTC),  # start reported in GCN 34397
        300.0,
        {
            "g": [21.9, 21.8, 22.0, 21.7, 21.9, 22.1],
            "r": [21.8, 21.9, 21.9, 21.6, 22.0, 21.9],
        },
    )
    git = [
        ExecutedObservation(
            telescope="GROWTH-India",
            ra=250.06,
            dec=46.20,
            filter="r",
            exposure_time=300.0,
            obs_time=dt.datetime(2023, 8, 13, 15, 40, 0, tzinfo=UTC) + k * dt.timedelta(minutes=6),
            limiting_magnitude=m,
            target="GRB 230812B",
        )
        for k, m in enumerate([20.9, 21.1, 21.0])
    ]
    return CircularContext(
        event_id="Fermi-GBM-713559497",
        event_name="GRB 230812B",
        kind="GRB",
        trigger_time=t0,
        observations=git + ztf,
        coverage={"ZTF": Coverage(probability=0.78, area=280.1), "GROWTH-India": Coverage()},
        authors=AUTHORS[:2] + [Author("Varun Bhalerao", "IITB")],
        collaboration="the ZTF and GROWTH collaborations",
        acknowledgements=ZTF_ACK,
        source="Fermi GBM",
        notice_type="FERMI_GBM_FIN_POS",
        discovery_gcn=34386,
        program="ZTF GRB afterglows",
        candidates=[at2023pel()],
    )


def at2023pel() -> Candidate:
    """The ZTF afterglow candidate of GRB 230812B, from the real circulars."""
    from astropy.coordinates import SkyCoord

    real = real_circulars()
    where = re.search(r"ZTF23aaxeacr candidate afterglow \((\S+ \S+)\)", real[34425]["body"])
    position = SkyCoord(where[1], unit=("hourangle", "deg"))
    first = re.search(r"ZTF23aaxeacr , AT 2023pel , (\S+ \S+) , [\d.]+ , (\w) , ([\d.]+)",
                      real[34397]["body"])
    return Candidate(
        name="AT 2023pel",
        alias="ZTF23aaxeacr",
        ra=float(position.ra.deg),
        dec=float(position.dec.deg),
        discovery_time=dt.datetime.fromisoformat(first[1] + "+00:00"),
        magnitude=float(first[3]),
        filter=first[2],
    )


def icecube230727a_context() -> CircularContext:
    # Event time: centre of the 1000 s window of GCN 34292.
    t0 = dt.datetime(2023, 7, 27, 16, 5, 39, 630000, tzinfo=UTC)
    obs = ztf_visits(
        [451, 1498],
        "gr",
        dt.datetime(2023, 7, 28, 9, 54, 0, tzinfo=UTC),  # start reported in GCN 34294
        300.0,
        {"g": [21.0, 21.1], "r": [20.9, 21.0]},
    )
    return CircularContext(
        event_id="IceCube-230727A",
        kind="neutrino",
        trigger_time=t0,
        observations=obs,
        # GCN 34294: "We covered 72.1% (1.7 sq deg) of the reported localization region."
        coverage={"ZTF": Coverage(probability=0.721, area=1.7)},
        authors=["Jannis Necker (DESY)", "Simeon Reusch (DESY)", "Robert Stein (Caltech)"],
        collaboration="the ZTF and GROWTH collaborations",
        acknowledgements=ZTF_ACK,
        source="IceCube",
        discovery_gcn=34276,
        program="ZTF neutrino follow-up",
        candidates=[],  # as GCN 34294 reports
    )


def snews1000194_context() -> CircularContext:
    # SNEWS VOEvent TrigID 1000194, ISOTime 2018-09-18T16:00:01.00Z (snews/voevent/snews_gcn.xml).
    t0 = dt.datetime(2018, 9, 18, 16, 0, 1, tzinfo=UTC)
    # Two Gattini-IR pointings on the Galactic centre (Sgr A*) and 4 deg along the plane.
    obs = [
        ExecutedObservation(
            telescope="Gattini-IR",
            ra=ra,
            dec=dec,
            filter="J",
            exposure_time=8.0,
            obs_time=dt.datetime(2018, 9, 19, 4, 12, 0, tzinfo=UTC) + k * dt.timedelta(seconds=68),
            limiting_magnitude=m,
            target=name,
        )
        for k, (name, ra, dec, m) in enumerate(
            [("GC-1", 266.41684, -29.00781, 15.2), ("GC-2", 268.5, -25.7, 15.4)]
        )
    ]
    return CircularContext(
        event_id="SNEWS-1000194",
        event_name="SNEWS trigger 1000194",
        kind="supernova",
        trigger_time=t0,
        observations=obs,
        authors=[Author("Mansi Kasliwal", "CIT")],
        collaboration="the Gattini-IR team",
        source="SNEWS",
    )


SCENARIOS = {
    "S230518h_gw": s230518h_context,
    "GRB230812B_grb": grb230812b_context,
    "IceCube-230727A_neutrino": icecube230727a_context,
    "SNEWS-1000194_supernova": snews1000194_context,
}


# --- golden files -------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_golden_draft(name):
    text = render_circular(SCENARIOS[name]()).text
    expected_file = EXPECTED / f"{name}.txt"
    if os.environ.get("UPDATE_GOLDEN_CIRCULARS"):
        expected_file.write_text(text)
    assert text == expected_file.read_text()


# --- structure of real follow-up circulars ------------------------------------------

#: Patterns every follow-up circular of the ZTF/GROWTH/GIT teams satisfies; each is
#: checked on the real circulars first, then on the drafts.
SUBJECT = re.compile(
    r"^(?P<event>LIGO/Virgo/KAGRA S\d{6}[a-z]{1,3}|GRB \d{6}[A-Z]?|IceCube-\d{6}[A-Z]"
    r"|SNEWS trigger \d+): .*\S$"
)
REPORT = re.compile(r"^(?P<authors>.+?)\s+reports?(?: on behalf of (?P<team>[^:]+))?:", re.S)
AUTHOR_WITH_AFFILIATION = re.compile(r"[A-Z][\w.' -]+ \([^()]+\)")
BEGINNING = re.compile(r"beginning at (?P<time>\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d)?)")
HOURS_AFTER = re.compile(r"(?P<hours>\d+(?:\.\d+)?) hours after")
PROBABILITY = re.compile(
    r"~?(?P<percent>\d+(?:\.\d+)?)% (?:\([\d.]+ sq deg\) )?of the (?:probability|reported loc)"
)
AREA = re.compile(r"covering (?P<area>\d+(?:\.\d+)?) square[ -]degrees")
REAL_FOLLOWUPS = [34284, 34294, 34397, 34755]


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("circular_id", REAL_FOLLOWUPS)
def test_patterns_describe_real_circulars(circular_id):
    real = real_circulars()[circular_id]
    body = flat(real["body"])
    assert SUBJECT.match(real["subject"].strip())
    report = REPORT.match(body)
    assert report and AUTHOR_WITH_AFFILIATION.search(report["authors"])
    assert BEGINNING.search(body)
    assert PROBABILITY.search(body)
    assert "acknowledge" in real["body"].rsplit("\n\n", 1)[-1].lower() or "GROWTH" in body[-600:]


def test_real_trigger_times_used_here():
    real = real_circulars()
    assert "18:58:12.05 UT on 12 August 2023" in real[34391]["body"]
    window = "(2023-07-27 15:57:19.630 UTC to 2023-07-27 16:13:59.630 UTC)"
    assert window in real[34292]["body"]
    start, end = (dt.datetime.fromisoformat(t.removesuffix(" UTC") + "+00:00")
                  for t in window.strip("()").split(" to "))
    assert start + (end - start) / 2 == icecube230727a_context().trigger_time
    assert "beginning at 2023-07-28 09:54 UTC" in real[34294]["body"]
    assert "We covered 72.1% (1.7 sq deg)" in real[34294]["body"]
    assert "beginning at 2023-08-13 03:34:57" in real[34397]["body"]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_draft_has_the_structure_of_real_circulars(name):
    ctx = SCENARIOS[name]()
    circular = render_circular(ctx)
    event = SUBJECT.match(circular.subject)
    assert event, circular.subject
    assert (ctx.event_name or ctx.event_id) in event["event"]
    telescopes = sorted({o.telescope for o in ctx.observations})
    assert all(t in circular.subject for t in telescopes)
    assert circular.subject.endswith("observations")

    paragraphs = circular.body.split("\n\n")
    report = REPORT.match(flat(paragraphs[0]))
    assert report
    assert flat(report["authors"]) == oxford_join(str(a) for a in ctx.authors)
    assert report["team"] == ctx.collaboration
    assert AUTHOR_WITH_AFFILIATION.search(report["authors"])
    assert re.match(r"We observed the (localization region of|fields selected for) ", paragraphs[1])
    assert circular.body.endswith(flat(ctx.acknowledgements.split("\n\n")[-1])[-30:] + "\n")
    assert all(len(line) <= 80 for line in circular.body.splitlines())


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_numbers_in_the_draft_match_the_inputs(name):
    ctx = SCENARIOS[name]()
    body = flat(render_circular(ctx).body)
    by_telescope: dict[str, list[ExecutedObservation]] = {}
    for o in ctx.observations:
        by_telescope.setdefault(o.telescope, []).append(o)

    for telescope, obs in by_telescope.items():
        paragraph = re.search(rf"With {re.escape(telescope)}, .*?mag\.", body)
        assert paragraph, telescope
        text = paragraph[0]
        first = min(o.obs_time for o in obs)
        assert BEGINNING.search(text)["time"] == first.strftime("%Y-%m-%d %H:%M:%S")
        delay = (first - ctx.trigger_time).total_seconds() / 3600
        assert float(HOURS_AFTER.search(text)["hours"]) == round(delay, 1)
        n_fields = len({o.field_id or o.target for o in obs})
        assert f"{len(obs)} exposure" in text and f"of {n_fields} field" in text
        for f in {o.filter for o in obs}:
            median = statistics.median(o.limiting_magnitude for o in obs if o.filter == f)
            assert f"{f} = {median:.1f}" in text
        cov = ctx.coverage.get(telescope, Coverage())
        if cov.probability is None:
            assert not PROBABILITY.search(text)
        else:
            assert float(PROBABILITY.search(text)["percent"]) == round(100 * cov.probability, 1)
        if cov.area is None:
            assert not AREA.search(text)
        else:
            assert float(AREA.search(text)["area"]) == round(cov.area, 1)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_observation_table_rows_match_the_inputs(name):
    ctx = SCENARIOS[name]()
    lines = render_circular(ctx).body.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("Telescope "))
    assert set(lines[header + 1]) == {"-", " "}
    rows = []
    for line in lines[header + 2 :]:
        if not line.strip():
            break
        rows.append(line)
    assert len(rows) == len(ctx.observations)
    expected = sorted(
        ctx.observations, key=lambda o: (min(p.obs_time for p in ctx.observations
                                             if p.telescope == o.telescope), o.obs_time)
    )
    for row, obs in zip(rows, expected, strict=True):
        columns = row.split()
        assert columns[0] == obs.telescope[:12]
        assert float(columns[-3]) == round(hours_after(ctx.trigger_time, obs.obs_time), 2)
        assert float(columns[-2]) == obs.exposure_time
        assert float(columns[-1]) == obs.limiting_magnitude
        assert obs.filter in columns
        assert str(obs.field_id if obs.field_id is not None else obs.target) in row


def test_candidates_table_and_statements():
    pel = at2023pel()
    assert (round(pel.ra, 4), round(pel.dec, 4)) == (249.1312, 47.859)
    grb = render_circular(grb230812b_context()).body
    assert "1 candidate passed our filtering criteria" in flat(grb)
    [row] = [line for line in grb.splitlines() if line.startswith("AT 2023pel")]
    columns = row.split()
    assert columns[2:4] == ["ZTF23aaxeacr", f"{pel.ra:.4f}"]
    assert float(columns[4]) == round(pel.dec, 4)
    assert " ".join(columns[5:]) == "2023-08-13 03:34:56 18.85 r"
    neutrino = render_circular(icecube230727a_context()).body
    assert "No candidate counterparts passed our filtering criteria." in neutrino
    gw = render_circular(s230518h_context()).body
    assert "candidate" not in gw.replace("gravitational-wave candidate", "")


def test_localization_area_is_the_real_s230518h_area():
    ctx = s230518h_context()
    body = flat(render_circular(ctx).body)
    # The INITIAL S230518h BAYESTAR map has a 90% area of several hundred deg2.
    assert 300 < ctx.localization_area < 1500
    assert f"90% credible area {ctx.localization_area:.0f} deg2" in body
    assert "of the INITIAL notice" in body


# --- helpers and errors -------------------------------------------------------------


def test_module_examples():
    result = doctest.testmod(tooflow.circulars)
    assert result.attempted >= 10 and result.failed == 0


def test_oxford_join_matches_real_author_lists():
    # GCN 34514: "... G.C. Anupama (IIA), S. Barway (IIA) and K. Angail (IAO)" (no Oxford
    # comma there); we always write the comma.
    assert oxford_join(["V. Bhalerao (IITB)", "G.C. Anupama (IIA)", "S. Barway (IIA)"]) == (
        "V. Bhalerao (IITB), G.C. Anupama (IIA), and S. Barway (IIA)"
    )
    assert oxford_join(("ZTF", "DECam"), "or") == "ZTF or DECam"


def test_helpers_on_real_field_observations():
    ctx = grb230812b_context()
    ztf = [o for o in ctx.observations if o.telescope == "ZTF"]
    assert distinct_fields(ztf) == 6
    assert distinct_fields(ctx.observations) == 7  # plus the GIT target
    assert ordered_filters([*reversed(ztf)]) == ("g", "r")
    assert ordered_filters(
        [dataclasses.replace(ztf[0], filter=f) for f in ["J", "i", "g", "Clear"]]
    ) == ("g", "i", "J", "Clear")
    assert median_limiting_magnitude(ztf, "g") == 21.9
    assert median_limiting_magnitude([dataclasses.replace(ztf[0], limiting_magnitude=None)]) is None
    assert format_delay(hours_after(ctx.trigger_time, ztf[0].obs_time)) == "~8.6 hours"


def test_authors_from_config():
    authors = authors_from_config(["A. Ho", {"name": "M. Coughlin", "affiliation": "UMN"}])
    assert [str(a) for a in authors] == ["A. Ho", "M. Coughlin (UMN)"]
    with pytest.raises(ValueError, match="needs a name"):
        authors_from_config([{"affiliation": "UMN"}])


def test_context_of_a_notice_without_observations():
    alert = s230518h_notice()
    ctx = CircularContext(
        event_id=alert["superevent_id"], kind="GW", source="LIGO/Virgo/KAGRA",
        notice_type=alert["alert_type"],
        trigger_time=dt.datetime.fromisoformat(alert["event"]["time"].replace("Z", "+00:00")),
        skymap="bayestar.multiorder.fits", authors=AUTHORS, program="P")
    assert (ctx.event_id, ctx.source) == ("S230518h", "LIGO/Virgo/KAGRA")
    assert ctx.notice_type == "INITIAL"
    assert ctx.skymap == "bayestar.multiorder.fits"
    circular = render_circular(ctx)
    assert circular.subject == "LIGO/Virgo/KAGRA S230518h: no follow-up observations executed"
    assert "No observations were executed." in flat(circular.body)
    assert "Telescope " not in circular.body


def test_draft_without_authors_says_so():
    ctx = dataclasses.replace(icecube230727a_context(), authors=[])
    assert render_circular(ctx).body.startswith("**ADD AUTHORS** report on behalf of")


def test_errors_are_specific():
    ctx = s230518h_context()
    with pytest.raises(ValueError, match="no circular template for event kind 'other'"):
        render_circular(dataclasses.replace(ctx, kind="other"))
    with pytest.raises(ValueError, match="trigger time must be timezone-aware"):
        naive_t0 = ctx.trigger_time.replace(tzinfo=None)
        render_circular(dataclasses.replace(ctx, trigger_time=naive_t0))
    naive = dataclasses.replace(ctx.observations[0], obs_time=dt.datetime(2023, 5, 19, 3, 0))
    with pytest.raises(ValueError, match="observation time must be timezone-aware"):
        render_circular(dataclasses.replace(ctx, observations=[naive]))


def test_what_each_telescope_adds_to_the_network():
    """With several telescopes, each paragraph gives the telescope's own coverage and
    what no other telescope of the report covered; alone, only its own."""
    ctx = grb230812b_context()
    both = dataclasses.replace(ctx, coverage={
        "ZTF": Coverage(probability=0.78, area=280.1, added=0.61),
        "GROWTH-India": Coverage(probability=0.20, area=0.1, added=0.03)})
    text = flat(render_circular(both).body)
    assert ("~78.0% of the probability enclosed in the localization region, ~61.0% of it "
            "covered by no other telescope of this report.") in text
    assert "~20.0% of the probability enclosed in the localization region, ~3.0% of it" in text
    plain = flat(render_circular(ctx).body)
    assert "no other telescope" not in plain
