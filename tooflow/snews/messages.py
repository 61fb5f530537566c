"""SNEWS 2.0 detector messages: decode, validate against the SNEWS schemas, classify.

Detectors publish JSON messages with SNEWS_Publishing_Tools (``snews_pt``). Each
message is validated with :mod:`jsonschema` against the SNEWS 0.2 schema of its
tier (copies in ``tooflow/snews/schemas/``), then checked the way
``snews_pt``'s format checker does: the detector is on the SNEWS detector list,
the neutrino time is ISO 8601, and — unless the message is a test or a fire
drill — the neutrino time is neither more than 48 h old nor in the future.

Older ``snews_pt`` messages (the examples and scenarios it ships) carry no
``tier`` and use the 1.x names ``neutrino_time``, ``machine_time``,
``t_bin_width`` and string booleans (``"True"``); :func:`normalize_legacy` maps
them onto the 0.2 names and infers the tier from the fields present, as
``snews_pt``'s tier decider does.

Every refusal is a :class:`MessageRejected` naming the reason.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from ..errors import NoticeRejected
from .cache import NS, DetectorMessage, parse_neutrino_time

__all__ = [
    "TIERS",
    "Heartbeat",
    "MessageRejected",
    "Observation",
    "OtherTier",
    "Retraction",
    "message_mode",
    "normalize_legacy",
    "read_detector_message",
    "snews_detectors",
]

#: SNEWS message tiers and their schema files.
TIERS = {
    "CoincidenceTier": "CoincidenceTierMessage",
    "SignificanceTier": "SignificanceTierMessage",
    "TimingTier": "TimingTierMessage",
    "Heartbeat": "HeartbeatMessage",
    "Retraction": "RetractionMessage",
}
_LEGACY_NAMES = {"neutrino_time": "neutrino_time_utc", "machine_time": "machine_time_utc",
                 "t_bin_width": "t_bin_width_sec", "sent_time": "sent_time_utc"}
_FLAGS = ("is_test", "is_firedrill", "is_pre_sn")


class MessageRejected(NoticeRejected):
    """A SNEWS detector message that cannot be used; the message says why."""


@dataclass(frozen=True)
class Observation:
    """A CoincidenceTier message, ready for the coincidence cache."""

    message: DetectorMessage
    content: dict[str, Any]


@dataclass(frozen=True)
class Retraction:
    """A detector withdraws its message(s).

    ``message_key`` names one message; else ``latest_n`` > 0 the detector's latest
    ones; else all of the detector's cached messages.
    """

    detector: str
    mode: str
    message_key: str | None
    latest_n: int
    reason: str | None
    content: dict[str, Any]


@dataclass(frozen=True)
class Heartbeat:
    """A detector's status report (``ON``/``OFF``)."""

    detector: str
    status: str
    mode: str
    content: dict[str, Any]


@dataclass(frozen=True)
class OtherTier:
    """A valid Timing or Significance tier message: not used for coincidences."""

    tier: str
    detector: str
    content: dict[str, Any]


@cache
def snews_detectors() -> frozenset[str]:
    """Names on the SNEWS detector list (``Super-K``, ``IceCube``, ``JUNO``...)."""
    path = resources.files("tooflow.snews") / "schemas" / "detector_properties.json"
    return frozenset(json.loads(path.read_text(encoding="utf-8")))


@cache
def _validator(tier: str) -> Draft202012Validator:
    path = resources.files("tooflow.snews") / "schemas" / f"{TIERS[tier]}.schema.json"
    return Draft202012Validator(json.loads(path.read_text(encoding="utf-8")))


def _flag(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


def normalize_legacy(obj: dict[str, Any]) -> dict[str, Any]:
    """Map a ``snews_pt`` 1.x message onto the SNEWS 0.2 field names, with its tier.

    Returns a new dict; a message already in the 0.2 form comes back equal.
    """
    out = copy.deepcopy(obj)
    for old, new in _LEGACY_NAMES.items():
        if old in out and new not in out:
            out[new] = out.pop(old)
    for name in _FLAGS:
        if name in out:
            out[name] = _flag(out[name])
    if "retract_latest" in out and "retract_latest_n" not in out:
        out["retract_latest_n"] = out.pop("retract_latest")
    if "tier" not in out and "detector_name" in out:
        if "retract_latest_n" in out or "retract_message_uuid" in out:
            out["tier"] = "Retraction"
        elif "neutrino_time_utc" in out:
            out["tier"] = "CoincidenceTier"
        elif "timing_series" in out:
            out["tier"] = "TimingTier"
        elif "p_values" in out:
            out["tier"] = "SignificanceTier"
        elif "detector_status" in out:
            out["tier"] = "Heartbeat"
    return out


def message_mode(obj: dict[str, Any]) -> str:
    """``firedrill``, ``test`` or ``observation`` (also reads ``meta.is_test``)."""
    meta = obj.get("meta") if isinstance(obj.get("meta"), dict) else {}
    if obj.get("is_firedrill") is True or _flag(meta.get("is_firedrill")) is True:
        return "firedrill"
    if obj.get("is_test") is True or _flag(meta.get("is_test")) is True:
        return "test"
    return "observation"


def _message_key(obj: dict[str, Any]) -> str:
    if isinstance(obj.get("uuid"), str) and obj["uuid"].strip():
        return obj["uuid"].strip()
    canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _decode(payload: bytes | str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(payload, dict):
        return payload
    if isinstance(payload, bytes | bytearray):
        try:
            payload = bytes(payload).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MessageRejected(f"SNEWS message is not UTF-8 text: {exc}") from None
    try:
        obj = json.loads(payload)
    except json.JSONDecodeError as exc:
        raise MessageRejected(f"SNEWS message is not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise MessageRejected(f"SNEWS message is a JSON {type(obj).__name__}, not an object")
    if set(obj) == {"format", "content"}:  # hop-client < 0.8 envelope
        return _decode(obj["content"] if isinstance(obj["content"], dict | str)
                       else json.dumps(obj["content"]))
    return obj


def read_detector_message(payload: bytes | str | dict[str, Any], *,
                          now: dt.datetime | None = None, max_age: float = 172800.0,
                          max_future: float = 60.0
                          ) -> Observation | Retraction | Heartbeat | OtherTier:
    """Decode and validate one SNEWS detector message.

    Parameters
    ----------
    payload : bytes, str or dict
        The message as received (JSON).
    now : datetime.datetime, optional
        Current time (UTC) for the age checks; default: the clock.
    max_age : float
        Observation messages whose neutrino time is older than this (s; 48 h as in
        ``snews_pt``) are refused, except tests and fire drills.
    max_future : float
        ... and those more than this (s) in the future (clock skew allowance).

    Returns
    -------
    Observation, Retraction, Heartbeat or OtherTier

    Raises
    ------
    MessageRejected
        Not JSON, unknown tier, schema violation (naming the field), unknown
        detector, unreadable or implausible neutrino time.
    """
    obj = normalize_legacy(_decode(payload))
    tier = obj.get("tier")
    if tier not in TIERS:
        raise MessageRejected(
            f"SNEWS message has no known tier ({tier!r}; expected one of "
            f"{', '.join(TIERS)}) and none can be inferred from its fields")
    error = best_match(_validator(tier).iter_errors(obj))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(message)"
        raise MessageRejected(f"SNEWS {tier} message invalid at {where}: {error.message}")
    detector = obj["detector_name"]
    if detector not in snews_detectors():
        raise MessageRejected(f"detector {detector!r} is not on the SNEWS detector list")
    mode = message_mode(obj)
    if tier == "Retraction":
        uuid = obj.get("retract_message_uuid")
        return Retraction(detector, mode, uuid if isinstance(uuid, str) else None,
                          int(obj.get("retract_latest_n") or 0), obj.get("retraction_reason"),
                          obj)
    if tier == "Heartbeat":
        return Heartbeat(detector, str(obj["detector_status"]).upper(), mode, obj)
    if tier != "CoincidenceTier":
        return OtherTier(tier, detector, obj)
    try:
        t_ns = parse_neutrino_time(obj["neutrino_time_utc"])
    except ValueError as exc:
        raise MessageRejected(f"SNEWS message from {detector}: neutrino_time_utc: {exc}") from None
    if mode == "observation":
        now = now or dt.datetime.now(dt.UTC)
        now_ns = round(now.timestamp() * 1e6) * 1000
        age = (now_ns - t_ns) / NS
        if age > max_age:
            raise MessageRejected(
                f"SNEWS message from {detector}: neutrino time {obj['neutrino_time_utc']} is "
                f"{age / 3600:.1f} h old (more than {max_age / 3600:.0f} h)")
        if -age > max_future:
            raise MessageRejected(
                f"SNEWS message from {detector}: neutrino time {obj['neutrino_time_utc']} is "
                f"{-age:.0f} s in the future")
    machine = obj.get("machine_time_utc")
    message = DetectorMessage(_message_key(obj), detector, t_ns, obj.get("p_val"), mode,
                              machine if isinstance(machine, str) else None)
    return Observation(message, obj)
