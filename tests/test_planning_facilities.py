"""Telescope descriptions in tooflow/telescopes/data (the catalogue)."""

from __future__ import annotations

import healpy as hp
import numpy as np
import pytest

from tooflow.planning import available_telescopes, load_telescope, load_telescopes
from tooflow.telescopes import DATA_DIR


def test_all_described_telescopes_load_and_cite_a_source():
    names = available_telescopes()
    assert {"ZTF", "DECam", "Gattini", "GROWTH-India", "KPED"} <= set(names)
    for tel in load_telescopes():
        text = (DATA_DIR / f"{tel.name}.yaml").read_text()
        assert "skyportal/gwemopt@" in text or "growth-astro/growth-too-marshal@" in text
        assert 1.0 < tel.airmass_limit <= 2.5
        assert all(tel.exposure_time[f] > 0 for f in tel.filters)


def test_ztf_real_footprint_and_primary_grid():
    ztf = load_telescope("ztf")
    assert len(ztf.footprint.polygons) == 64  # 16 CCDs x 4 quadrants
    assert 44.0 < ztf.footprint.area < 48.0  # deg², the camera's 47 deg² with gaps
    ids, ra, dec = ztf.fields
    assert ids.max() < 1000 and len(ids) == len(set(ids.tolist()))
    assert ids.min() == 1 and len(ids) > 800
    assert np.all((ra >= 0) & (ra < 360) & (dec >= -90) & (dec <= 90))


def test_grids_of_decam_gattini_growth_india_and_kped():
    decam = load_telescope("DECam")
    assert decam.footprint.radius == 1.1 and decam.hour_angle_limits == (-5.0, 5.0)
    assert len(decam.fields[0]) == 13092
    gattini = load_telescope("Gattini")
    assert len(gattini.fields[0]) == 1329
    assert gattini.footprint.area == pytest.approx(4.96**2)
    gi = load_telescope("GROWTH-India")
    ids, ra, dec = gi.fields
    assert len(ids) == hp.nside2npix(128)
    ra0, dec0 = hp.pix2ang(128, 4, lonlat=True)
    assert (ra[4], dec[4]) == pytest.approx((ra0, dec0))  # skyportal: 22.5, 89.269029
    assert dec[4] == pytest.approx(89.269029, abs=1e-6)
    kped = load_telescope("KPED")
    assert not kped.has_grid and len(kped.fields[0]) == 0


def test_unknown_telescope_names_the_known_ones():
    with pytest.raises(KeyError, match="known: .*ZTF"):
        load_telescope("Hubble")
