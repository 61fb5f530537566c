"""SNEWS coincidence rules (tooflow.snews.cache): SNEWS scenarios, hand-made sequences."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tooflow.snews.cache import (
    NS,
    CoincidenceCache,
    DetectorMessage,
    format_ns,
    parse_neutrino_time,
)
from tooflow.snews.messages import Observation, read_detector_message

DATA = Path(__file__).parent / "data" / "snews"
T0 = parse_neutrino_time("2022-01-01T12:30:00")


def msg(detector: str, seconds: float, key: str | None = None, p_val: float | None = 0.05,
        mode: str = "observation") -> DetectorMessage:
    return DetectorMessage(key or f"{detector}@{seconds}", detector, T0 + round(seconds * NS),
                           p_val, mode)


def check_invariants(cache: CoincidenceCache) -> None:
    """Every group fits in one window and holds one message per detector; no orphans."""
    for group in cache.groups.values():
        times = [m.t_ns for m in group.members.values()]
        assert max(times) - min(times) <= cache.window_ns
        names = [m.detector for m in group.members.values()]
        assert len(names) == len(set(names))
    for m in cache.messages():
        assert cache.groups_of(m.key), f"{m.key} belongs to no group"


def run(cache: CoincidenceCache, messages) -> list[list[tuple[str, list[str]]]]:
    out = []
    for m in messages:
        out.append([(a.alert_type, a.detectors) for a in cache.add(m)])
        check_invariants(cache)
    return out


def scenario(name: str) -> list[DetectorMessage]:
    """A snews_pt scenario, read through the same validation as the service (test messages)."""
    events = json.loads((DATA / "scenarios.json").read_text())[name]
    parsed = [read_detector_message(json.dumps(e).encode()) for e in events]
    assert all(isinstance(p, Observation) for p in parsed)
    return [p.message for p in parsed]


# --- times ------------------------------------------------------------------------

def test_every_snews_time_format_parses_to_the_same_instant():
    formats = json.loads((DATA / "time_formats.json").read_text())
    values = {f: parse_neutrino_time(f) for f in formats}
    base = parse_neutrino_time("2023-06-12T18:30:00Z")
    assert values["2023-06-12 18:30"] == base
    assert values["2023-06-12T18:30:10"] == base + 10 * NS
    assert values["2023-06-12 18:30:10.123"] == base + 10 * NS + 123_000_000
    assert values["2023-06-12T18:30:10.123456789"] == base + 10 * NS + 123_456_789
    assert parse_neutrino_time("2023-06-12T20:30:10+02:00") == base + 10 * NS
    assert format_ns(values["2023-06-12T18:30:10.123456789"]) == "2023-06-12T18:30:10.123456789Z"
    assert format_ns(values["2023-06-12 18:30:10.123"]) == "2023-06-12T18:30:10.123000Z"


@pytest.mark.parametrize("bad", ["01/01/2022 12:30:00:000000", "2023-13-01T00:00:00",
                                 "2023-06-12T18:30:10.1234567890", "", "yesterday"])
def test_unreadable_times_are_refused(bad):
    with pytest.raises(ValueError, match="ISO 8601|valid date"):
        parse_neutrino_time(bad)


# --- the snews_pt scenarios ----------------------------------------------------------

def test_simple_coincidence():
    cache = CoincidenceCache()
    assert run(cache, scenario("simple coincidence")) == [
        [], [("ALERT", ["XENONnT", "DS-20K"])]]


def test_exact_10s_is_still_coincident_and_one_nanosecond_more_is_not():
    cache = CoincidenceCache()
    assert run(cache, scenario("exact 10s coincidence")) == [[], [("ALERT", ["XENONnT", "DUNE"])]]
    later = CoincidenceCache()
    assert run(later, [msg("XENONnT", 0), msg("DUNE", 10 + 1e-9)]) == [[], []]


def test_two_coincidences_far_apart():
    cache = CoincidenceCache()
    got = run(cache, scenario("two coincidences"))
    # Baksan (12:30:52.68) is earlier than the lone JUNO message (12:30:55.68): it
    # becomes the initial message of JUNO's group and the alert goes out.
    assert got == [[], [("ALERT", ["XENONnT", "DS-20K"])], [], [("ALERT", ["Baksan", "JUNO"])]]
    groups = cache.coincidences()
    assert [g.initial.detector for g in groups] == ["Baksan", "XENONnT"]


def test_same_message_submitted_twice_is_ignored():
    cache = CoincidenceCache()
    assert run(cache, scenario("same message submitted twice")) == [[], []]
    assert len(cache) == 1


def test_same_detector_within_one_second_never_coincides_with_itself():
    cache = CoincidenceCache()
    assert run(cache, scenario("same detector submits within 1sec")) == [[], []]
    # the second message replaces the first (a detector's update)
    assert [m.neutrino_time_iso for m in cache.messages()] == ["2030-01-01T12:30:56.678999Z"]


def test_three_coincident_messages_out_of_order():
    cache = CoincidenceCache()
    got = run(cache, scenario("3 coincident message, out of order"))
    # As snews_cs does: the earlier XENONnT message is outside the {DS-20K, DUNE}
    # group's window (measured forward from its initial message), so it opens a new
    # group with the messages within its own window, which alerts on its own.
    assert got == [[], [("ALERT", ["DS-20K", "DUNE"])],
                   [("ALERT", ["XENONnT", "DS-20K", "DUNE"])]]
    first, second = sorted(cache.coincidences(), key=lambda g: len(g.members))
    assert first.initial.detector == "DS-20K" and second.initial.detector == "XENONnT"


def test_messages_at_10_19_21_22_20_29_18_seconds():
    cache = CoincidenceCache()
    got = run(cache, scenario("msgs at 10, 19, 21, 22, 20, 29, 18 seconds"))
    assert got == [
        [],
        [("ALERT", ["Borexino", "IceCube"])],
        [("ALERT", ["IceCube", "NOvA"])],  # 21 s is past 10 + 10: new group from 19 s
        [("UPDATE", ["IceCube", "NOvA", "DS-20K"])],
        [("UPDATE", ["Borexino", "IceCube", "HALO"]),
         ("UPDATE", ["IceCube", "HALO", "NOvA", "DS-20K"])],
        [("UPDATE", ["IceCube", "HALO", "NOvA", "DS-20K", "XENONnT"])],
        [("UPDATE", ["Borexino", "JUNO", "IceCube", "HALO"])],
    ]
    assert [len(g.members) for g in cache.coincidences()] == [4, 5]


def test_snews_data_formats_scenarios_match_the_publishing_tools_ones():
    """The snews-data-formats copy of the scenarios gives the same alerts."""
    pt = json.loads((DATA / "scenarios.json").read_text())
    formats = json.loads((DATA / "coincidence_scenarios.json").read_text())
    assert len(formats) == len(pt)
    for entry, (name, events) in zip(formats, pt.items(), strict=True):
        a, b = CoincidenceCache(), CoincidenceCache()
        got_a = run(a, [read_detector_message(e).message for e in entry["events"]])
        got_b = run(b, [read_detector_message(e).message for e in events])
        assert got_a == got_b, name


# --- hand-made sequences, one per rule ----------------------------------------------

def test_readme_three_detectors_detector_2_in_both_groups():
    cache = CoincidenceCache()
    d1, d2, d3 = msg("Super-K", 0), msg("IceCube", 9), msg("KamLAND", 11)
    got = run(cache, [d1, d2, d3])
    assert got == [[], [("ALERT", ["Super-K", "IceCube"])], [("ALERT", ["IceCube", "KamLAND"])]]
    assert len(cache.groups_of(d2.key)) == 2
    first, second = cache.coincidences()
    assert first.initial.key == d1.key and second.initial.key == d2.key
    # a 4th message much later sits alone and alerts nobody
    assert cache.add(msg("JUNO", 300)) == []
    assert len(cache.coincidences()) == 2


def test_message_earlier_than_a_lone_initial_becomes_initial():
    cache = CoincidenceCache()
    assert run(cache, [msg("Super-K", 5), msg("IceCube", -4)]) == [
        [], [("ALERT", ["IceCube", "Super-K"])]]
    (group,) = cache.coincidences()
    assert group.initial.detector == "IceCube"
    # the window now runs from -4 s: a message at 7 s is past it
    assert run(cache, [msg("JUNO", 7)]) == [[("ALERT", ["Super-K", "JUNO"])]]


def test_earlier_message_that_does_not_fit_the_group_opens_its_own():
    cache = CoincidenceCache()
    run(cache, [msg("Super-K", 0), msg("IceCube", 9)])
    got = run(cache, [msg("JUNO", -2)])  # -2..9 is 11 s: not in that group
    assert got == [[("ALERT", ["JUNO", "Super-K"])]]
    assert [sorted(g.detectors) for g in cache.coincidences()] == [
        ["JUNO", "Super-K"], ["IceCube", "Super-K"]]


def test_new_group_collects_later_messages_that_arrived_first():
    cache = CoincidenceCache()
    run(cache, [msg("Super-K", 5), msg("IceCube", 14)])  # one group, 5..14 s
    got = run(cache, [msg("JUNO", 0)])
    assert got == [[("ALERT", ["JUNO", "Super-K"])]]


def test_new_member_alerts_are_updates():
    cache = CoincidenceCache()
    got = run(cache, [msg("Super-K", 0), msg("IceCube", 1), msg("JUNO", 2), msg("KamLAND", 3)])
    assert [g[0][0] if g else None for g in got] == [None, "ALERT", "UPDATE", "UPDATE"]
    alerts = cache.add(msg("LVD", 4))
    assert [(a.alert_type, a.record_number) for a in alerts] == [("UPDATE", 4)]
    assert alerts[0].first_t_ns == T0


def test_messages_outside_the_window_never_alert():
    cache = CoincidenceCache()
    assert run(cache, [msg("Super-K", 0), msg("IceCube", 30), msg("JUNO", 60)]) == [[], [], []]
    assert cache.coincidences() == []


def test_a_detector_update_moves_its_message():
    cache = CoincidenceCache()
    run(cache, [msg("Super-K", 0), msg("IceCube", 5)])
    assert run(cache, [msg("IceCube", 6, key="icecube-2")]) == [
        [("UPDATE", ["Super-K", "IceCube"])]]
    assert [m.key for m in cache.messages()] == ["Super-K@0", "icecube-2"]
    # an update that leaves the window withdraws the coincidence
    assert run(cache, [msg("IceCube", 14, key="icecube-3")]) == [
        [("RETRACTION", ["Super-K"])]]


def test_retraction_updates_then_withdraws():
    cache = CoincidenceCache()
    run(cache, [msg("Super-K", 0), msg("IceCube", 5), msg("JUNO", 7)])
    removed, alerts = cache.retract("JUNO")
    assert [m.detector for m in removed] == ["JUNO"]
    assert [(a.alert_type, a.detectors, a.record_number) for a in alerts] == [
        ("UPDATE", ["Super-K", "IceCube"], 3)]
    removed, alerts = cache.retract("Super-K")
    assert [(a.alert_type, a.detectors) for a in alerts] == [("RETRACTION", ["IceCube"])]
    assert cache.coincidences() == []
    check_invariants(cache)
    # a new coincidence with what is left is a fresh ALERT
    assert [(a.alert_type, a.record_number) for a in cache.add(msg("KamLAND", 6))] == [
        ("ALERT", 5)]


def test_retraction_of_the_initial_message_recomputes_the_window():
    cache = CoincidenceCache()
    run(cache, [msg("Super-K", 0), msg("IceCube", 8), msg("JUNO", 9)])
    _, alerts = cache.retract("Super-K")
    assert [(a.alert_type, a.detectors) for a in alerts] == [("UPDATE", ["IceCube", "JUNO"])]
    (group,) = cache.coincidences()
    assert group.initial.detector == "IceCube"
    assert run(cache, [msg("KamLAND", 17)]) == [[("UPDATE", ["IceCube", "JUNO", "KamLAND"])]]


def test_retraction_by_message_key_and_latest_n():
    cache = CoincidenceCache()
    run(cache, [msg("Super-K", 0, key="sk-1"), msg("IceCube", 2), msg("Super-K", 100, key="sk-2"),
                msg("Super-K", 200, key="sk-3")])
    removed, alerts = cache.retract("Super-K", message_key="sk-2")
    assert [m.key for m in removed] == ["sk-2"] and alerts == []
    removed, alerts = cache.retract("Super-K", latest_n=1)
    assert [m.key for m in removed] == ["sk-3"] and alerts == []
    # nobody else can retract Super-K's message
    assert cache.retract("IceCube", message_key="sk-1") == ([], [])
    removed, alerts = cache.retract("Super-K")
    assert [m.key for m in removed] == ["sk-1"]
    assert [a.alert_type for a in alerts] == ["RETRACTION"]
    assert cache.retract("Borexino") == ([], [])


def test_retraction_keeps_the_other_group_of_a_shared_message():
    cache = CoincidenceCache()
    run(cache, [msg("Super-K", 0), msg("IceCube", 9), msg("KamLAND", 11)])
    _, alerts = cache.retract("KamLAND")
    assert [(a.alert_type, a.detectors) for a in alerts] == [("RETRACTION", ["IceCube"])]
    assert [sorted(g.detectors) for g in cache.coincidences()] == [["IceCube", "Super-K"]]
    check_invariants(cache)


def test_messages_expire_after_24_hours_unless_coincident():
    cache = CoincidenceCache()
    run(cache, [msg("Super-K", 0), msg("IceCube", 3), msg("JUNO", 500)])
    assert cache.expire(T0 + 500 * NS + 86400 * NS - 1) == []
    dropped = cache.expire(T0 + 501 * NS + 86400 * NS)
    assert [m.detector for m in dropped] == ["JUNO"]
    assert sorted(m.detector for m in cache.messages()) == ["IceCube", "Super-K"]
    check_invariants(cache)


def test_window_is_configurable():
    cache = CoincidenceCache(window=2.0)
    assert run(cache, [msg("Super-K", 0), msg("IceCube", 3)]) == [[], []]
    with pytest.raises(ValueError):
        CoincidenceCache(window=0)


def test_random_sequences_keep_the_invariants():
    rng = random.Random(6)
    names = sorted(json.loads((DATA.parent.parent.parent / "tooflow" / "snews" / "schemas"
                               / "detector_properties.json").read_text()))
    for _ in range(30):
        cache = CoincidenceCache()
        for i in range(40):
            if rng.random() < 0.1:
                cache.retract(rng.choice(names), latest_n=rng.choice([0, 1]))
            else:
                alerts = cache.add(msg(rng.choice(names), rng.uniform(0, 60), key=f"m{i}"))
                for a in alerts:
                    assert (len(set(a.detectors)) >= 2) == (a.alert_type != "RETRACTION")
            check_invariants(cache)
