"""Simulated detections as ZTF alert packets (Avro, the real ZTF schema, with cutouts).

A packet is what ZTF's alert distribution system sends: one Avro object
container file holding one ``ztf.alert`` record (schema 4.02, copied into
``tooflow/schemas/ztf`` from ZwickyTransientFacility/ztf-avro-alert; written
with the candidate parser's :func:`~tooflow.candidates.ztf.ztf_alert_schema`) with the
candidate, its previous detections and upper limits (``prv_candidates``) and
three 63×63 gzipped FITS cutouts: science, template (reference) and
difference. So the candidate parser reads simulated alerts exactly as real
ones.

The cutouts are drawn, not photographs: a Gaussian PSF (2 arcsec FWHM on
1.01 arcsec pixels) of the detection's flux on the science and difference
images, the PS1 source under it (host galaxy or star) on science and
template, and noise at the exposure's limiting magnitude; a bogus
subtraction leaves a positive–negative dipole.
"""

from __future__ import annotations

import gzip
import io
import math
from typing import Any

import numpy as np

from tooflow.simulator.transients import FILTER_IDS, Detection

__all__ = ["SCHEMA_VERSION", "alert_record", "packet_bytes", "ztf_schema", "cutout_fits"]

#: The ZTF alert schema version written (tooflow/schemas/ztf/alert.avsc).
SCHEMA_VERSION = "4.02"
#: ZTF's photometric zero point is about 26 mag for a 30 s exposure (``magzpsci``).
ZEROPOINT = 26.0
_PIXEL_ARCSEC = 1.01
_FWHM_PIX = 2.0
_STAMP = 63
_ZTF_PROGRAM = 2  # "partnership"/ToO programme id


def ztf_schema() -> dict:
    """The parsed ZTF alert schema 4.02 (tooflow/schemas/ztf, named types inlined)."""
    from tooflow.candidates.ztf import ztf_alert_schema

    return ztf_alert_schema()


def _pid(jd: float, expid: int) -> int:
    # ZTF: pid = (nid, exposure, ccd-quadrant); the simulator: night and exposure
    nid = int(jd - 2458000.5)
    return nid * 10**9 + int(expid) * 100 + 1


def _prv(h: dict[str, Any], expid_of: int) -> dict[str, Any]:
    fid = FILTER_IDS.get(h["filter"], 2)
    row: dict[str, Any] = {"jd": float(h["jd"]), "fid": fid, "pid": _pid(h["jd"], expid_of),
                           "programid": _ZTF_PROGRAM, "rbversion": "t17_f5_c3",
                           "diffmaglim": float(h["maglim"]), "candid": h.get("candid")}
    if h.get("mag") is not None:
        row.update({"magpsf": float(h["mag"]), "sigmapsf": float(h["magerr"]),
                    "isdiffpos": "t", "ra": float(h["ra"]), "dec": float(h["dec"]),
                    "rb": float(h["rb"]), "drb": float(h["drb"]),
                    "drbversion": "d6_m7"})
    return row


def alert_record(det: Detection, previous: list[dict[str, Any]] | None = None, *,
                 cutouts: bool = True) -> dict[str, Any]:
    """The ``ztf.alert`` record of one detection.

    Parameters
    ----------
    det : Detection
    previous : list of dict, optional
        Earlier detections (``mag`` set) and upper limits (``mag`` None) of the
        same object in this simulation, as :meth:`TransientSky.previous` gives.
    cutouts : bool
        Draw the three cutouts (otherwise null, as schema allows).

    Returns
    -------
    dict
        Valid against :func:`ztf_schema`.
    """
    previous = sorted(previous or [], key=lambda h: h["jd"])
    dets = [h for h in previous if h.get("mag") is not None]
    first_sim = min([h["jd"] for h in dets] + [det.jd])
    jdstart = det.jdstarthist if det.jdstarthist is not None else first_sim
    ndethist = det.ndethist_prior + len(dets) + 1
    jdendhist = det.jd
    pid = _pid(det.jd, det.exposure_id)
    ra, dec = det.ra, det.dec
    c = {
        "jd": det.jd, "fid": det.fid, "pid": pid, "diffmaglim": det.maglim,
        "pdiffimfilename": f"ztf_{pid}_diff.fits", "programpi": "Kulkarni",
        "programid": _ZTF_PROGRAM, "candid": det.candid, "isdiffpos": "t",
        "tblid": det.candid % 1000, "nid": int(det.jd - 2458000.5), "rcid": 0,
        "field": det.field_id, "xpos": 1500.0, "ypos": 1500.0, "ra": ra, "dec": dec,
        "magpsf": det.mag, "sigmapsf": det.magerr, "chipsf": 1.0,
        "magap": det.mag, "sigmagap": det.magerr,
        "distnr": (det.distpsnr1 / _PIXEL_ARCSEC if det.distpsnr1 >= 0 else None),
        "magnr": det.srmag1 if det.srmag1 > 0 else None, "sigmagnr": 0.05,
        "chinr": 1.0, "sharpnr": 0.0, "sky": 0.0, "magdiff": 0.0, "fwhm": _FWHM_PIX,
        "classtar": 0.98 if det.sgscore1 > 0.5 else 0.3, "mindtoedge": 500.0,
        "magfromlim": det.maglim - det.mag, "seeratio": 1.0, "aimage": 0.9,
        "bimage": 0.8, "aimagerat": 0.45, "bimagerat": 0.4, "elong": 1.1,
        "nneg": 2 if det.kind != "bogus" else 9, "nbad": 0, "rb": det.rb,
        "ssdistnr": det.ssdistnr, "ssmagnr": det.ssmagnr, "ssnamenr": det.ssnamenr,
        "sumrat": 1.0 if det.kind != "bogus" else 0.5, "magapbig": det.mag,
        "sigmagapbig": det.magerr, "ranr": ra, "decnr": dec,
        "sgmag1": det.srmag1 + 0.5 if det.srmag1 > 0 else None,
        "srmag1": det.srmag1 if det.srmag1 > 0 else None,
        "simag1": det.srmag1 - 0.3 if det.srmag1 > 0 else None,
        "szmag1": det.srmag1 - 0.5 if det.srmag1 > 0 else None,
        "sgscore1": det.sgscore1, "distpsnr1": det.distpsnr1,
        "ndethist": int(ndethist), "ncovhist": int(ndethist + 5),
        "jdstarthist": float(jdstart), "jdendhist": float(jdendhist), "scorr": 10.0,
        "tooflag": 1, "objectidps1": None, "objectidps2": None, "sgmag2": None,
        "srmag2": None, "simag2": None, "szmag2": None, "sgscore2": None, "distpsnr2": None,
        "objectidps3": None, "sgmag3": None, "srmag3": None, "simag3": None, "szmag3": None,
        "sgscore3": None, "distpsnr3": None, "nmtchps": 1 if det.distpsnr1 >= 0 else 0,
        "rfid": 100000 + (det.field_id or 0), "jdstartref": 2458200.5,
        "jdendref": 2458400.5, "nframesref": 15, "rbversion": "t17_f5_c3",
        "dsnrms": 10.0, "ssnrms": 5.0, "dsdiff": 5.0, "magzpsci": ZEROPOINT,
        "magzpsciunc": 1e-5, "magzpscirms": 0.03, "nmatches": 500, "clrcoeff": 0.05,
        "clrcounc": 1e-5, "zpclrcov": -1e-6, "zpmed": ZEROPOINT, "clrmed": 0.6,
        "clrrms": 0.2, "neargaia": det.distpsnr1 if det.sgscore1 > 0.5 else 20.0,
        "neargaiabright": 40.0, "maggaia": det.srmag1 if det.sgscore1 > 0.5 else None,
        "maggaiabright": None, "exptime": 30.0, "drb": det.drb, "drbversion": "d6_m7",
    }
    record: dict[str, Any] = {
        "schemavsn": SCHEMA_VERSION, "publisher": "tooflow simulator",
        "objectId": det.object_id, "candid": det.candid, "candidate": c,
        "prv_candidates": [_prv(h, det.exposure_id) for h in previous] or None,
        "fp_hists": None, "cutoutScience": None, "cutoutTemplate": None,
        "cutoutDifference": None,
    }
    if cutouts:
        rng = np.random.default_rng(det.candid)
        for kind, key in (("science", "cutoutScience"), ("template", "cutoutTemplate"),
                          ("difference", "cutoutDifference")):
            record[key] = {"fileName": f"candid{det.candid}_pid{pid}_targ_"
                                       f"{kind[:3] if kind != 'difference' else 'scimref'}"
                                       ".fits.gz",
                           "stampData": cutout_fits(det, kind, rng)}
    return record


def _gauss(xy: tuple[np.ndarray, np.ndarray], x0: float, y0: float, sigma: float
           ) -> np.ndarray:
    x, y = xy
    g = np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * sigma**2))
    return g / (2 * math.pi * sigma**2)


def cutout_fits(det: Detection, kind: str, rng: np.random.Generator) -> bytes:
    """A 63×63 gzipped FITS cutout (``science``, ``template`` or ``difference``)."""
    from astropy.io import fits

    yx = np.mgrid[0:_STAMP, 0:_STAMP].astype(float)
    xy = (yx[1], yx[0])
    centre = (_STAMP - 1) / 2
    s = _FWHM_PIX / 2.3548
    flux = 10 ** (-0.4 * (det.mag - ZEROPOINT))
    flux_lim = 10 ** (-0.4 * (det.maglim - ZEROPOINT))
    noise = flux_lim / (5 * math.sqrt(4 * math.pi * s * s))
    src = flux * _gauss(xy, centre, centre, s)
    under = np.zeros_like(src)
    if det.srmag1 > 0 and 0 <= det.distpsnr1 < 25:
        off = det.distpsnr1 / _PIXEL_ARCSEC
        width = s if det.sgscore1 > 0.5 else 3 * s  # a star, or an extended galaxy
        under = 10 ** (-0.4 * (det.srmag1 - ZEROPOINT)) * _gauss(
            xy, centre + off, centre, width)
    sky = 150.0
    if kind == "template":
        img = sky + under + rng.normal(0, noise / 3, src.shape)
    elif kind == "science":
        img = sky + under + src + rng.normal(0, noise, src.shape)
    else:
        img = src + rng.normal(0, noise, src.shape)
        if det.kind == "bogus":  # a misaligned subtraction: positive–negative dipole
            img -= flux * _gauss(xy, centre + 1.5, centre + 0.5, s)
    hdu = fits.PrimaryHDU(img.astype(np.float32))
    hdu.header["MAGZP"] = (ZEROPOINT, "photometric zero point (simulated)")
    hdu.header["ORIGIN"] = "tooflow simulator"
    raw = io.BytesIO()
    hdu.writeto(raw)
    return gzip.compress(raw.getvalue(), compresslevel=5, mtime=0)


def packet_bytes(record: dict[str, Any]) -> bytes:
    """One alert record as a ZTF packet: an Avro object container file of one record."""
    import fastavro

    buf = io.BytesIO()
    fastavro.writer(buf, ztf_schema(), [record], codec="null")
    return buf.getvalue()
