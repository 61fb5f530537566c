"""Offline IERS handling (no download ever happens in these tests)."""

from __future__ import annotations

import warnings

from astropy.time import Time
from astropy.utils import iers

from tooflow.iers import configure_iers


def test_offline_accepts_current_dates_without_download():
    assert configure_iers(offline=True) is True
    assert iers.conf.auto_download is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a download attempt or an IERS error would raise
        t = Time("2026-11-23T09:00:00", scale="utc")
        warnings.simplefilter("ignore")
        dut1 = (t.ut1.mjd - t.utc.mjd) * 86400.0
    assert abs(dut1) < 1.0


def test_environment_variable_decides_without_probe(monkeypatch):
    monkeypatch.setenv("TOOFLOW_IERS_OFFLINE", "false")
    assert configure_iers() is False
    assert iers.conf.auto_download is True
    monkeypatch.setenv("TOOFLOW_IERS_OFFLINE", "true")
    assert configure_iers() is True
    assert iers.conf.auto_download is False
