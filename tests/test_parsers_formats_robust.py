"""Every field of the newly read formats missing or mistyped: a parse or a
NoticeRejected, never another exception (real notices, mutated)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tooflow.errors import NoticeRejected
from tooflow.parsers import parse_notice

GCN = Path(__file__).parent / "data" / "gcn"

JSON_CASES = [
    (GCN / "gcn-schema" / "notices" / "chime" / "frb.detection.example.json", None),
    (GCN / "gcn-schema" / "notices" / "maxi" / "gsc.unknown.rectangle.example.json", None),
    (GCN / "gcn-schema" / "notices" / "maxi" / "gsc.known.example.json", None),
    (GCN / "gcn-schema" / "notices" / "fermi" / "lat" / "flare.example.json", None),
    (GCN / "gcn-schema-releases" / "v2.0.0" / "icecube" / "GoldAndBronze.update.example.json",
     None),
    (GCN / "gcn-schema-drafts" / "swift" / "xrt" / "position.initial.example.json", None),
    (GCN / "classic-json" / "LVC_UPDATE" / "example.json", "gcn.classic.json.LVC_UPDATE"),
    (GCN / "classic-json" / "SWIFT_BAT_GRB_POS_ACK" / "example.json",
     "gcn.classic.json.SWIFT_BAT_GRB_POS_ACK"),
    (GCN / "classic-json" / "SNEWS" / "example.json", "gcn.classic.json.SNEWS"),
]
BAD = (..., None, "x", -1.5, 0, [], {}, [None], [[None, 1]], [1, 2, 3, 4], True)


def _outcome(payload: bytes, source: str | None) -> str:
    try:
        parse_notice(payload, source=source)
        return "parsed"
    except NoticeRejected:
        return "rejected"


@pytest.mark.parametrize("path, source", JSON_CASES, ids=lambda c: getattr(c, "name", c))
def test_mutated_json_never_crashes(path, source):
    obj = json.loads(path.read_text())
    outcomes = {_outcome(path.read_bytes(), source)}
    assert outcomes == {"parsed"}
    for key in obj:
        for value in BAD:
            mutated = {k: v for k, v in obj.items() if k != key}
            if value is not ...:
                mutated[key] = value
            outcomes.add(_outcome(json.dumps(mutated).encode(), source))
    assert outcomes == {"parsed", "rejected"}


def test_mutated_text_notice_never_crashes():
    lines = (GCN / "text" / "hop-client_example_gcn.txt").read_text().splitlines()
    outcomes = set()
    for i, line in enumerate(lines):
        key = line.split(":", 1)[0]
        for value in ("", "x", "-1d", "999.9d {x}", "1e999 [deg radius]", "99/99/99",
                      "{99:99:99.9}", "0x10"):
            mutated = lines[:i] + ([f"{key}: {value}"] if ":" in line else [value]) + lines[i + 1:]
            outcomes.add(_outcome("\n".join(mutated).encode(), None))
    assert outcomes == {"parsed", "rejected"}
