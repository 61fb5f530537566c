"""Map GCN unified-schema JSON notices onto :class:`~tooflow.notice.ParsedNotice`.

The schema family (:mod:`.gcn_json_families`) gives source, kind, notice type
and event id; this module reads what all schemas share.

Units follow the schemas: degrees (ICRS), seconds, ``far`` in Hz, IceCube
``nu_energy`` in TeV (``properties["energy"]``), luminosity distance in Mpc.
``ra_dec_error`` is a radius, or an ellipse ``[a, b, angle]`` (semi-axes,
position angle North through East) kept as an ellipse
(``Localization.error_minor``/``error_angle``; ``error_radius`` is the larger
semi-axis, and the list stays in ``properties["ra_dec_error"]``);
``containment_probability`` defaults to 0.9 and ``systematic_included`` to
false, as the schema states, and both are written into
``Localization.radius_kind`` (``"stat 90%"``). MAXI's
``rectangular_error_corners`` (its 90% box) is a ``Localization.polygon``, and
so is gcn-schema v1–v2's ``uncertainty_shape: rectangle`` (IceCube's
asymmetric RA/Dec ranges, corners joined by great circles). A
position without any error of a known source (MAXI ``gsc.known``, Fermi LAT
flares) becomes a disk whose radius is the precision the position is quoted
to (half a unit of its last decimal, times √2; at least 1″), with
``radius_kind`` ``"disk (known-source position, to its quoted precision)"``.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

from ..errors import NoticeRejected
from ..notice import Localization, ParsedNotice
from .gcn_common import as_float, parse_utc, parse_utc_or_none, prune
from .gcn_json_families import Family, Props, notice_ids
from .validate import position

__all__ = ["build_notice", "circle_of", "quoted_precision"]

_COPIED = (
    "mission", "instrument", "messenger", "record_number", "alert_type", "alert_tense",
    "far", "p_astro", "rate_snr", "rate_duration", "image_snr", "image_duration",
    "net_count_rate", "event_name", "data_archive_page", "follow_up_event", "follow_up_type",
    "trigger_type", "slew_status", "duration_class", "pipeline", "alert_topology",
    "number_of_events", "notice_level", "flux", "flux_error", "classification", "subtype",
    "snews2_tier", "luminosity_distance", "n_events", "n_ibd_events", "trigger_number",
    "detection_interval", "processed_sample", "light_curve_url", "loglr", "src_error_50",
    "signalness",
)


def circle_of(obj: dict[str, Any]) -> tuple[float, float, float, str] | None:
    """``(ra, dec, radius, radius_kind)`` of a notice's error region, degrees; or ``None``."""
    err = obj.get("ra_dec_error")
    ellipse = isinstance(err, list)
    if ellipse:
        raw_radius = err[0] if err else None
    elif err is not None:
        raw_radius = err
    else:  # pre-release Kafka notices: ra_uncertainty / dec_uncertainty lists
        legacy = obj.get("ra_uncertainty") or obj.get("dec_uncertainty")
        raw_radius = legacy[0] if isinstance(legacy, list) and legacy else None
    checked = position(obj.get("ra"), obj.get("dec"), raw_radius,
                       radius_field="ra_dec_error")
    if checked is None:
        return None
    ra, dec, radius = checked
    if radius is None or not 0.0 < radius < 180.0:
        return None
    prob = as_float(obj.get("containment_probability")) or 0.9
    prob = prob / 100.0 if prob > 1.0 else prob  # a draft writes 68.0 for 68%
    stat = "stat+sys" if obj.get("systematic_included") is True else "stat"
    kind = f"{stat} {round(prob * 100):d}%" + (" (ellipse semi-major axis)" if ellipse else "")
    return ra, dec, radius, kind


def _decode_map(text: Any, props: Props) -> bytes | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        props["skymap_error"] = "healpix_file is not valid base64"
        return None
    if not data.startswith((b"SIMPLE", b"\x1f\x8b")):
        props["skymap_error"] = "healpix_file is not a FITS (or gzipped FITS) file"
        return None
    return data


def _decimals(value: Any) -> int:
    text = repr(float(value))
    if "e" in text or "." not in text:
        return 0 if "e" not in text else 6
    return len(text.split(".", 1)[1].rstrip("0"))


def quoted_precision(ra: Any, dec: Any) -> float:
    """Radius (degrees) of the precision a position is quoted to: √2 × half its last digit."""
    digits = min(_decimals(ra), _decimals(dec))
    return max(0.5 * 10.0 ** -digits * 2 ** 0.5, 1 / 3600)


def _separation(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (degrees) between two (ra, dec) positions in degrees."""
    (ra1, dec1), (ra2, dec2) = [(math.radians(x), math.radians(y)) for x, y in (a, b)]
    h = (math.sin((dec2 - dec1) / 2) ** 2
         + math.cos(dec1) * math.cos(dec2) * math.sin((ra2 - ra1) / 2) ** 2)
    return math.degrees(2 * math.asin(min(1.0, math.sqrt(h))))


def _polygon(obj: dict[str, Any]) -> Localization | None:
    corners = obj.get("rectangular_error_corners")
    if not isinstance(corners, list) or len(corners) < 3:
        return None
    pts = []
    for i, corner in enumerate(corners):
        if not isinstance(corner, list) or len(corner) != 2:
            raise NoticeRejected(f"rectangular_error_corners[{i}] is not an [ra, dec] pair")
        checked = position(corner[0], corner[1], ra_field=f"rectangular_error_corners[{i}][0]",
                           dec_field=f"rectangular_error_corners[{i}][1]")
        if checked is None:
            raise NoticeRejected(f"rectangular_error_corners[{i}] has no ra or dec")
        pts.append(checked[:2])
    centre = position(obj.get("ra"), obj.get("dec"))
    if centre is None:
        return None
    reach = max(_separation(centre[:2], corner) for corner in pts)
    prob = as_float(obj.get("containment_probability")) or 0.9
    stat = "stat+sys" if obj.get("systematic_included") is True else "stat"
    return Localization(ra=centre[0], dec=centre[1], error_radius=reach, polygon=pts,
                        radius_kind=f"{stat} {round(prob * 100):d}% box (corners)")


def _asymmetric_box(obj: dict[str, Any]) -> Localization | None:
    """gcn-schema v1–v2 ``uncertainty_shape: rectangle``: RA/Dec offsets ``[low, high]``.

    IceCube's ``ra_uncertainty: [-1.5, 1.4]``, ``dec_uncertainty: [-1.2, 1.3]``
    (degrees of RA and Dec, as IceCube quotes them) become the four corners.
    """
    ra_unc, dec_unc = obj.get("ra_uncertainty"), obj.get("dec_uncertainty")
    if (obj.get("uncertainty_shape") != "rectangle" or not isinstance(ra_unc, list)
            or not isinstance(dec_unc, list) or len(ra_unc) != 2 or len(dec_unc) != 2):
        return None
    centre = position(obj.get("ra"), obj.get("dec"))
    offsets = [as_float(v) for v in (*ra_unc, *dec_unc)]
    if centre is None or any(v is None for v in offsets):
        return None
    r_lo, r_hi, d_lo, d_hi = offsets
    if not (r_lo < 0 < r_hi and d_lo < 0 < d_hi):
        raise NoticeRejected(f"rectangle uncertainty ra {ra_unc}, dec {dec_unc} does not "
                             "enclose the position ([negative, positive] expected)")
    ra, dec = centre[:2]
    corners = [(ra + r_lo, dec + d_lo), (ra + r_hi, dec + d_lo), (ra + r_hi, dec + d_hi),
               (ra + r_lo, dec + d_hi)]
    if any(abs(c[1]) > 90 for c in corners):
        raise NoticeRejected("rectangle uncertainty reaches beyond a celestial pole")
    pts = [(c[0] % 360.0, c[1]) for c in corners]
    prob = as_float(obj.get("containment_probability")) or 0.9
    stat = "stat+sys" if obj.get("systematic_included") is True else "stat"
    reach = max(_separation((ra, dec), c) for c in pts)
    return Localization(ra=ra, dec=dec, error_radius=reach, polygon=pts,
                        radius_kind=f"{stat} {round(prob * 100):d}% box (RA/Dec ranges)")


def _region(obj: dict[str, Any], known_position: bool = False) -> Localization | None:
    """The error region of a notice without a map: box, ellipse, circle or known position."""
    box = _polygon(obj) or _asymmetric_box(obj)
    if box is not None:
        return box
    circle = circle_of(obj)
    if circle is not None:
        ra, dec, radius, kind = circle
        err = obj.get("ra_dec_error")
        if isinstance(err, list) and len(err) >= 2:
            minor = as_float(err[1])
            if minor is not None and minor > 0:
                angle = as_float(err[2]) if len(err) > 2 else 0.0
                return Localization(ra=ra, dec=dec, error_radius=max(radius, minor),
                                    error_minor=min(radius, minor),
                                    error_angle=(angle or 0.0) + (90.0 if minor > radius else 0.0),
                                    radius_kind=kind.replace(" (ellipse semi-major axis)", ""))
        return Localization(ra=ra, dec=dec, error_radius=radius, radius_kind=kind)
    if known_position and obj.get("ra_dec_error") is None and obj.get("ra") is not None:
        checked = position(obj.get("ra"), obj.get("dec"))
        if checked is not None:
            return Localization(ra=checked[0], dec=checked[1],
                                error_radius=quoted_precision(obj["ra"], obj["dec"]),
                                radius_kind="disk (known-source position, to its quoted "
                                            "precision)")
    return None


def _localization(obj: dict[str, Any], props: Props,
                  known_position: bool = False) -> Localization | None:
    url = obj.get("healpix_url") if isinstance(obj.get("healpix_url"), str) else None
    data = _decode_map(obj.get("healpix_file"), props)
    region = _region(obj, known_position)
    if isinstance(obj.get("ra_dec_error"), list):
        props["ra_dec_error"] = obj["ra_dec_error"]
    if data is not None:
        if region is not None:
            props.update(ra=region.ra, dec=region.dec, error_radius=region.error_radius)
        if url:
            props["skymap_url"] = url
        return Localization(skymap_bytes=data, filename=url.rsplit("/", 1)[-1] if url else None)
    if region is not None:
        if url:
            props["skymap_url"] = url
        return region
    if url:
        return Localization(url=url, filename=url.rsplit("/", 1)[-1])
    return None


def build_notice(obj: dict[str, Any], key: str, family: Family, validated: bool) -> ParsedNotice:
    """Build the :class:`ParsedNotice` of a JSON notice already identified (and validated)."""
    if family.time is not None:
        found = family.time(obj)
        if found is None:
            raise NoticeRejected(f"JSON notice ({key}) has no event time "
                                 "(trigger_time, observation_start or observation_datetime)")
        time = found
    elif not isinstance(obj.get("trigger_time"), str):
        raise NoticeRejected(f"JSON notice ({key}) has no trigger_time")
    else:
        time = parse_utc(obj["trigger_time"], "trigger_time")
    props: Props = {k: obj[k] for k in _COPIED if k in obj and obj[k] is not None}
    props.update(schema=key, schema_validated=validated, ids=notice_ids(obj) or None)
    significance = as_float(obj.get("image_snr")) or as_float(obj.get("rate_snr"))
    classification = obj.get("classification")
    if isinstance(classification, dict) and classification:
        best = max(classification, key=lambda k: as_float(classification[k]) or 0.0)
        props.update(most_likely_source=best, most_likely_prob=classification[best])
    props.update(prune({"significance": significance, "energy": as_float(obj.get("nu_energy"))}))
    if family.extra is not None:
        props.update(family.extra(obj))
    if isinstance(props.get("instrument"), str):
        props["instruments"] = [props["instrument"]]
    issued = parse_utc_or_none(obj.get("alert_datetime"))
    if issued is None and obj.get("alert_datetime") is not None:
        props["alert_datetime"] = obj["alert_datetime"]
    superevent = str(props.get("superevent_id", ""))
    is_mock = family.mock or obj.get("alert_tense") in ("test", "injection") or (
        family.source == "IceCube" and superevent.startswith("M"))
    localization = _localization(obj, props, family.known_position)
    return ParsedNotice(
        source=family.source_of(obj) if family.source_of else family.source,
        format="gcn-json", kind=family.kind,
        event_id=family.event_id(obj, time), notice_type=family.notice_type(obj),
        time=time, issued=issued, is_mock=is_mock,
        is_retraction=obj.get("alert_type") == "retraction",
        properties=prune(props), localization=localization,
    )
