"""tooflow's SNEWS decisions against snews_cs's own scenarios, notebooks and test data.

The expected alerts are those SNEWS_Coincidence_System 3.0.1 (``CacheManager`` and
``alert_decider`` of ``snews_cs/snews_coinc.py`` at b50cdba) publishes for the same
messages: (index of the message that caused it, snews_cs alert type, sub list
number, detectors by neutrino time). The inputs are in ``tests/data/snews/``
(sources in its README). ``rules="snews_cs"`` must give exactly these;
``rules="tooflow"`` differs where docs/coincidence.md says so.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tooflow.cli import main
from tooflow.snews.cache import CoincidenceCache, DetectorMessage, parse_neutrino_time

DATA = Path(__file__).parent / "data" / "snews"
CS = DATA / "snews_cs"

#: snews_cs 3.0.1's alerts for docs/nb/new_CS_backend_test.ipynb's signals (A..F;
#: C re-sends its time 4 s later: ignored, UPDATEs for its two groups unchanged).
BACKEND_NOTEBOOK = [
    (1, "COINC_MSG", 0, ["A", "C"]),
    (2, "COINC_MSG", 0, ["A", "B", "C"]),
    (3, "COINC_MSG_STAGGERED", 1, ["B", "C", "D"]),
    (4, "COINC_MSG", 2, ["D", "E"]),
    (5, "COINC_MSG_STAGGERED", 3, ["E", "F"]),
    (6, "UPDATE", 0, ["A", "B", "C"]),
    (6, "UPDATE", 1, ["B", "C", "D"]),
]
#: ... for snews_pt's "msgs at 10, 19, 21, 22, 20, 29, 18 seconds": 9 alerts, the
#: sub-list {NOvA, DS-20K} (opened by NOvA) alerting too.
SEVEN_MESSAGES = [
    (1, "COINC_MSG", 0, ["Borexino", "IceCube"]),
    (2, "COINC_MSG_STAGGERED", 1, ["IceCube", "NOvA"]),
    (3, "COINC_MSG", 1, ["IceCube", "NOvA", "DS-20K"]),
    (3, "COINC_MSG", 2, ["NOvA", "DS-20K"]),
    (4, "COINC_MSG", 0, ["Borexino", "IceCube", "HALO"]),
    (4, "COINC_MSG", 1, ["IceCube", "HALO", "NOvA", "DS-20K"]),
    (5, "COINC_MSG", 1, ["IceCube", "HALO", "NOvA", "DS-20K", "XENONnT"]),
    (5, "COINC_MSG", 2, ["NOvA", "DS-20K", "XENONnT"]),
    (6, "COINC_MSG", 0, ["Borexino", "JUNO", "IceCube", "HALO"]),
]
SNEWS_CS = {
    ("snews_cs/new_cs_backend_signals.json", None): BACKEND_NOTEBOOK,
    # docs/nb/CS_tests.ipynb: coincidence, DS-20K's update, DS-20K's retraction
    ("snews_cs/cs_tests_notebook.json", "try retraction"): [
        (1, "COINC_MSG", 0, ["XENONnT", "DS-20K"]),
        (2, "UPDATE", 0, ["XENONnT", "DS-20K"]),
        (3, "RETRACTION", 0, ["XENONnT"]),
    ],
    # snews_cs/test/test_02_alert.py's two messages (XENONnT first in time)
    ("snews_cs/test_02_alert_messages.json", None): [
        (1, "COINC_MSG_STAGGERED", 2, ["XENONnT", "KamLAND"]),
    ],
    ("scenarios.json", "msgs at 10, 19, 21, 22, 20, 29, 18 seconds"): SEVEN_MESSAGES,
    ("scenarios.json", "3 coincident message, out of order"): [
        (1, "COINC_MSG_STAGGERED", 2, ["DS-20K", "DUNE"]),
        (2, "COINC_MSG_STAGGERED", 3, ["XENONnT", "DS-20K", "DUNE"]),
    ],
    ("scenarios.json", "two coincidences"): [
        (1, "COINC_MSG", 0, ["XENONnT", "DS-20K"]),
        (3, "COINC_MSG_STAGGERED", 3, ["Baksan", "JUNO"]),
    ],
    ("scenarios.json", "exact 10s coincidence"): [(1, "COINC_MSG", 0, ["XENONnT", "DUNE"])],
    ("scenarios.json", "same message submitted twice"): [],
    ("scenarios.json", "same detector submits within 1sec"): [],
}


def load(name: str, scenario: str | None) -> list[dict]:
    data = json.loads((DATA / name).read_text())
    return data[scenario] if scenario is not None else data


def decide(messages: list[dict], rules: str) -> list[tuple]:
    """Feed the messages (their own layouts) to a cache; the alerts snews_cs-style."""
    cache = CoincidenceCache(rules=rules)
    got = []
    for i, m in enumerate(messages):
        if "retract_latest" in m:
            _removed, alerts = cache.retract(m["detector_name"], latest_n=m["retract_latest"])
        else:
            name = m.get("detector_name", m.get("name"))
            when = m.get("neutrino_time_utc") or m.get("neutrino_time") or m.get("nu_time")
            alerts = cache.add(DetectorMessage(f"m{i}", name, parse_neutrino_time(when),
                                               m.get("p_val"), "test"))
        got += [(i, a.snews_cs_type, a.number, a.detectors) for a in alerts]
    return sorted(got)


@pytest.mark.parametrize(("source", "expected"), SNEWS_CS.items(),
                         ids=[f"{f}:{s}" for f, s in SNEWS_CS])
def test_snews_cs_rules_give_snews_cs_decisions(source, expected):
    assert decide(load(*source), "snews_cs") == sorted(expected)


def test_tooflow_rules_differ_only_where_documented():
    # A detector re-sending its time 4 s later: its message moves (A,B lose C; C joins
    # {D, E}): 3 UPDATEs instead of snews_cs's 2 unchanged ones.
    # (Same groups otherwise; D's lone group is opened when E joins D, so that alert is
    # named COINC_MSG_STAGGERED, not COINC_MSG.)
    def members(alerts):
        return [(i, number, names) for i, _type, number, names in alerts]

    got = decide(load("snews_cs/new_cs_backend_signals.json", None), "tooflow")
    assert members(got[:5]) == members(sorted(BACKEND_NOTEBOOK[:5]))
    assert got[5:] == [(6, "COINC_MSG", 2, ["D", "C", "E"]),  # C joined
                       (6, "UPDATE", 0, ["A", "B"]), (6, "UPDATE", 1, ["B", "D"])]
    # No alert for a group whose detectors are all in a larger one: 7 alerts, not 9.
    got = decide(load("scenarios.json", "msgs at 10, 19, 21, 22, 20, 29, 18 seconds"), "tooflow")
    assert members(got) == members(sorted(e for e in SEVEN_MESSAGES if e[2] != 2))


def test_unknown_rules_are_refused():
    with pytest.raises(ValueError, match="unknown coincidence rules 'snews'"):
        CoincidenceCache(rules="snews")


def test_feed_with_snews_cs_rules(capsys, tooflow_home):
    code = main(["coincidence", "-l", "error", "feed", str(DATA / "scenarios.json"),
                 "--scenario", "msgs at 10, 19, 21, 22, 20, 29, 18 seconds",
                 "--no-inject", "--rules", "snews_cs"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.count("(snews_cs ") == 9
    assert "UPDATE #1: NOvA, DS-20K (snews_cs COINC_MSG, sub list 2)" not in out
    assert "ALERT #1: NOvA, DS-20K (snews_cs COINC_MSG, sub list 2)" in out
    assert "UPDATE #2: NOvA, DS-20K, XENONnT (snews_cs COINC_MSG, sub list 2)" in out


def test_feed_snews_cs_notebook_update_and_retraction(capsys, tooflow_home):
    (tooflow_home / "tooflow.yaml").write_text("coincidence:\n  rules: snews_cs\n")
    code = main(["coincidence", "-l", "error", "feed", str(CS / "cs_tests_notebook.json"),
                 "--scenario", "try retraction", "--no-inject"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "ALERT #1: XENONnT, DS-20K (snews_cs COINC_MSG, sub list 0)" in out
    assert "UPDATE #2: XENONnT, DS-20K (snews_cs UPDATE, sub list 0)" in out
    assert "RETRACTION #3: XENONnT (snews_cs RETRACTION, sub list 0)" in out


def test_snews_cs_retracts_every_message_of_the_detector():
    messages = load("scenarios.json", "two coincidences")
    for rules, expected in (("snews_cs", ["RETRACTION"]), ("tooflow", [])):
        cache = CoincidenceCache(rules=rules)
        for i, m in enumerate(messages):
            cache.add(DetectorMessage(f"m{i}", m["detector_name"],
                                      parse_neutrino_time(m["neutrino_time_utc"]), 0.98, "test"))
        removed, alerts = cache.retract("JUNO", message_key="not-this-one")
        assert [a.snews_cs_type for a in alerts] == expected, rules
        assert len(removed) == len(expected)
