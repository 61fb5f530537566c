"""Counterpart light-curve models (tooflow/counterparts) on AT2017gfo's real photometry."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from tooflow.counterparts import (
    GW170817_MJD,
    afterglow,
    at2017gfo_photometry,
    band_for,
    counterpart_model,
    distance_modulus,
    distance_modulus_cdf,
    kilonova,
    sample_distance,
)
from tooflow.counterparts.bands import BANDS
from tooflow.counterparts.kilonova import NGC4993_EBV


def test_kilonova_reproduces_at2017gfo_at_40_mpc():
    """Every PS1 r/i and 2MASS J detection is returned at its epoch (extinction put back)."""
    model = kilonova(spread=0.0)
    rows = [r for r in at2017gfo_photometry()
            if r["filter"] in ("ps1::r", "2massj") and np.isfinite(r["flux"]) and r["flux"] > 0]
    assert len(rows) > 20
    for r in rows:
        band = "r" if r["filter"] == "ps1::r" else "J"
        t = r["mjd"] - GW170817_MJD
        observed = r["zp"] - 2.5 * np.log10(r["flux"])
        model_mag = model.apparent_magnitude(band, t, 40.0) + BANDS[band].extinction * NGC4993_EBV
        # points < 0.1 d apart are averaged; AT2017gfo's scatter between them is < 0.3 mag
        assert abs(float(model_mag) - observed) < 0.3, (r, float(model_mag))


def test_kilonova_is_red_and_fades():
    model = kilonova()
    # blue fades fastest: g loses > 3 mag between day 1 and day 4, J < 1 mag
    g = model.absolute_magnitude("g", [1.0, 4.0])
    j = model.absolute_magnitude("J", [1.0, 4.0])
    assert g[1] - g[0] > 3.0
    assert j[1] - j[0] < 1.0
    # peak around -16 in the optical, as AT2017gfo
    assert -16.5 < float(model.absolute_magnitude("r", 0.5)) < -15.5
    # past the data the decline continues, never re-brightens
    late = model.absolute_magnitude("r", [9.0, 12.0, 20.0])
    assert np.all(np.diff(late) > 0)
    # a timedelta works as time since merger
    assert model.absolute_magnitude("r", dt.timedelta(days=1)) == model.absolute_magnitude("r", 1.0)


def test_distance_scaling_and_filters():
    model = kilonova(spread=0.5)
    near, far = model.apparent_magnitude("ztfr", 1.0, [40.0, 400.0])
    assert far - near == pytest.approx(5.0)
    assert band_for("sdssi").name == "i" and band_for("2massks").name == "Ks"
    with pytest.raises(ValueError, match="no counterpart model band"):
        band_for("UVW2")
    with pytest.raises(ValueError, match="no light curve in band u"):
        model.absolute_magnitude("u", 1.0)
    with pytest.raises(ValueError, match="unknown counterpart model"):
        counterpart_model("supernova")
    with pytest.raises(ValueError, match="spread"):
        kilonova(spread=-1)


def test_detection_probability_at_known_distance():
    model = kilonova(spread=1.0)
    m = float(model.apparent_magnitude("r", 1.0, 100.0))
    # the mean counterpart exactly at the limit: half the population is detected
    assert float(model.detection_probability("r", 1.0, m, 100.0)) == pytest.approx(0.5)
    p = model.detection_probability("r", 1.0, 20.4, [40.0, 100.0, 200.0, 400.0])
    assert np.all(np.diff(p) < 0) and p[0] > 0.99 and p[-1] < 0.05


def test_detection_probability_3d_matches_monte_carlo():
    """The quadrature over ligo.skymap's distance ansatz agrees with drawn counterparts."""
    model = kilonova(spread=0.7)
    rng = np.random.default_rng(20170817)
    for mu, sigma, mlim, t in [(120.0, 40.0, 20.4, 1.0), (-50.0, 150.0, 21.5, 0.5),
                               (250.0, 60.0, 22.0, 2.0)]:
        r = sample_distance(mu, sigma, rng, 40_000)
        offsets = rng.normal(0.0, model.spread, len(r))
        mags = model.apparent_magnitude("g", t, r) + offsets
        mc = float(np.mean(mags <= mlim))
        q = float(model.detection_probability_3d("g", t, mlim, mu, sigma, 1.0))
        assert q == pytest.approx(mc, abs=0.01), (mu, sigma, q, mc)
    # no distance support → nothing detected
    assert float(distance_modulus_cdf(40.0, np.inf, 1.0, 0.0, 0.5)) == 0.0


def test_distance_modulus():
    assert float(distance_modulus(40.0)) == pytest.approx(33.0103, abs=1e-4)


def test_afterglow_from_afterglowpy():
    model = afterglow(spread=1.0)
    t = np.array([1.0, 10.0])
    r = model.absolute_magnitude("r", t)
    # decaying power law F ∝ t^-α with α between 0.7 and 2.5 (pre/post jet break)
    alpha = (r[1] - r[0]) / 2.5 / np.log10(t[1] / t[0])
    assert 0.7 < alpha < 2.5
    # an on-axis short GRB afterglow at 1 d at 200 Mpc is ~ 20-24 mag in r
    assert 18.0 < float(model.apparent_magnitude("r", 1.0, 200.0)) < 25.0
    # off axis it is much fainter at early times
    off = afterglow(theta_obs=0.4)
    assert float(off.absolute_magnitude("r", 0.1)) > float(r[0]) + 3


def test_draw_is_one_member():
    model = kilonova(spread=1.0)
    offs = np.array([model.draw(np.random.default_rng(s)).offset for s in range(400)])
    assert abs(offs.mean()) < 0.15 and 0.85 < offs.std() < 1.15
    src = model.draw(7)
    assert src.apparent_magnitude("r", 1.0, 100.0) == pytest.approx(
        float(model.apparent_magnitude("r", 1.0, 100.0)) + src.offset)
    assert bool(src.detected("r", 1.0, 100.0, 30.0))


def test_no_u_band_curve_and_no_telescope_plans_in_u():
    """AT2017gfo's photometry has one u detection (SDSS u at 1.5 d) and one u upper
    limit: no light curve, so the kilonova has no u band. No telescope of the
    catalogue observes in u, so neither the planner nor the simulator ask for it;
    every filter they can plan in has a curve."""
    from tooflow.counterparts.kilonova import GW170817_MJD, at2017gfo_photometry
    from tooflow.telescopes import load_telescopes

    u = [r for r in at2017gfo_photometry() if r["filter"] == BANDS["u"].at2017gfo]
    detected = [r for r in u if np.isfinite(r["flux"])]
    assert len(u) == 2 and len(detected) == 1
    assert detected[0]["mjd"] - GW170817_MJD == pytest.approx(1.52, abs=0.01)
    model = kilonova()
    assert "u" not in model.bands
    for tel in load_telescopes():
        for f in tel.filters:
            assert model.band(f).name in model.bands, (tel.name, f)
