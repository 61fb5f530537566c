"""Tests of tooflow.notify.roster: shifts across time zones, midnight and DST."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from tooflow.notify.roster import RosterError, load_roster, on_duty

ROSTER_YAML = """
roster:
  - name: Alice
    slack: U012ABCDEF
    phone: "+15555550100"
    tz: America/Los_Angeles
    hours:
      - {days: weekdays, start: "18:00", end: "08:00"}
  - name: Bob
    email: bob@example.org
    hours:
      - {days: daily, start: "08:00", end: "18:00", tz: Europe/Berlin}
  - name: Chandra
    phone: "+919999999999"
    hours:
      - {days: [sat, sunday], start: "00:00", end: "24:00", tz: Asia/Kolkata}
  - name: Dana
    email: dana@example.org
    hours: always
"""


@pytest.fixture
def roster():
    return load_roster(yaml.safe_load(ROSTER_YAML)["roster"])


def names(people):
    return [p.name for p in people]


def utc(*args):
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        # S230518h (Thursday 12:59 UTC): 05:59 in Los Angeles, inside Wednesday's
        # overnight shift; 14:59 in Berlin; 18:29 Thursday in Kolkata.
        (utc(2023, 5, 18, 12, 59, 8), ["Alice", "Bob", "Dana"]),
        # Friday 23:00 UTC: 16:00 Friday in LA (before the shift), 01:00 Saturday in
        # Berlin, 04:30 Saturday in Kolkata.
        (utc(2023, 5, 19, 23, 0), ["Chandra", "Dana"]),
        # Saturday 14:30 UTC: 07:30 Saturday in LA is the tail of Friday's shift.
        (utc(2023, 5, 20, 14, 30), ["Alice", "Bob", "Chandra", "Dana"]),
        # Monday 14:30 UTC: 07:30 Monday in LA follows Sunday, which has no shift.
        (utc(2023, 5, 22, 14, 30), ["Bob", "Dana"]),
        # Sunday 23:59 and Monday 00:00 in Kolkata (18:29 / 18:30 UTC Sunday).
        (utc(2023, 5, 21, 18, 29), ["Chandra", "Dana"]),
        (utc(2023, 5, 21, 18, 30), ["Dana"]),
        # Berlin's 08:00 is 07:00 UTC before the DST change of 2023-03-26 and 06:00 after
        # (Saturday 06:30 UTC is Friday 23:30 in LA and Saturday noon in Kolkata).
        (utc(2023, 3, 25, 6, 30), ["Alice", "Chandra", "Dana"]),
        (utc(2023, 3, 27, 6, 30), ["Bob", "Dana"]),
    ],
)
def test_on_duty_across_time_zones_and_midnight(roster, when, expected):
    assert names(on_duty(roster, when)) == expected


def test_on_duty_accepts_any_time_zone_for_the_instant(roster):
    when = utc(2023, 5, 19, 23, 0)
    tokyo = when.astimezone(dt.timezone(dt.timedelta(hours=9)))
    assert names(on_duty(roster, tokyo)) == names(on_duty(roster, when))


def test_channels_are_parsed(roster):
    alice = roster[0]
    assert (alice.channels.slack, alice.channels.phone, alice.channels.email) == (
        "U012ABCDEF", "+15555550100", None)
    assert roster[3].always and not roster[0].always


def test_naive_time_is_refused(roster):
    with pytest.raises(ValueError, match="timezone-aware"):
        on_duty(roster, dt.datetime(2023, 5, 18, 12, 59))


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"email": "x@example.org"}, "roster entry 0: needs a name"),
        ({"name": "Eve", "tz": "Mars/Olympus_Mons"}, r"\(Eve\): unknown time zone"),
        ({"name": "Eve", "hours": [{"start": "25:00", "end": "08:00"}]},
         "is not HH:MM"),
        ({"name": "Eve", "hours": [{"start": "8 am", "end": "08:00"}]}, "is not HH:MM"),
        ({"name": "Eve", "hours": [{"days": ["funday"], "start": "08:00", "end": "09:00"}]},
         "unknown day 'funday'"),
        ({"name": "Eve", "hours": [{"start": "08:00"}]}, "needs start and end"),
        ({"name": "Eve", "hours": "sometimes"}, "hours must be 'always' or a list"),
        ({"name": "Eve", "phone": "555-0100"}, "E.164"),
    ],
)
def test_bad_entries_get_specific_errors(entry, message):
    with pytest.raises(RosterError, match=message):
        load_roster([entry])


def test_roster_must_be_a_list():
    assert load_roster(None) == []
    with pytest.raises(RosterError, match="list of people"):
        load_roster({"name": "Alice"})
