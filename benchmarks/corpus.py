"""Corpus benchmark: every notice file parsed and summarised; outcomes, kinds, parse times.

Run: ``python benchmarks/corpus.py [DIR ...] [--repeat 3] [--mutations 0] [--seed 12]
[--no-tests-data] [--show N] [--list]``

Walks ``tests/data`` (unless ``--no-tests-data``) and every directory given, and for
each candidate notice file:

1. parses it as the pipeline does — :func:`tooflow.parsers.parse_notice` with the
   file path as its ``source`` (GCN Classic JSON takes its type from it), then
   :func:`tooflow.parsers.validate.check_parsed` (plausible time, finite numbers);
2. summarises it: the event fields the gate sees, formatted by
   :func:`tooflow.views.summary.format_fields`, and the form of its localization.

Each file ends in one outcome: **parsed**, **rejected** (a
:class:`~tooflow.errors.NoticeRejected` with its reason) or **crashed** (any other
exception, in parsing or summarising: a bug; the script exits 1 if there is one).
Candidates are all files but documentation (``*.md``, ``README``...), JSON schemas
(``*.schema.json``) and sky maps, tables and code by suffix (``.fits``, ``.csv``,
``.py``...); those skipped are counted by suffix. A file is parsed once untimed (the
outcome; first-use costs such as loading JSON schemas land there), then ``--repeat``
times timed; its parse time is the median of those (wall clock,
``time.perf_counter``). The tables are Markdown, ready for docs/benchmarks.md.

``--mutations N`` also feeds N damaged copies of every file (cut at 1/4, 1/2, 3/4 of
its length, then bytes overwritten at random, then — for JSON — values replaced by
strings, ``null``, lists and objects; seeded, so reproducible) and counts the crashes
among them: none is the promise that bad input is refused, never a crash.
"""

from __future__ import annotations

import argparse
import logging
import random
import re
import statistics
import sys
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tooflow.errors import NoticeRejected
from tooflow.notice import ParsedNotice
from tooflow.parsers import parse_notice
from tooflow.parsers.validate import check_parsed
from tooflow.views.summary import format_fields

TESTS_DATA = Path(__file__).resolve().parent.parent / "tests" / "data"

#: Suffixes of files that are not notices (sky maps, tables, images, code, configs).
NOT_NOTICES = {
    ".fits", ".fit", ".fz", ".csv", ".tsv", ".tess", ".npz", ".npy", ".h5", ".hdf5", ".png",
    ".jpg", ".jpeg", ".gif", ".svg", ".pdf", ".py", ".pyc", ".ipynb", ".yaml", ".yml",
    ".toml", ".cfg", ".ini", ".sh", ".js", ".ts", ".html", ".css", ".lock", ".zip", ".tar",
    ".md", ".rst",
}
DOC_NAMES = re.compile(r"^(readme|sources|license|licence|manifest|changelog|contributing)",
                       re.IGNORECASE)


@dataclass
class Result:
    """What one file gave."""

    path: Path
    outcome: str  # parsed, rejected, crashed
    seconds: float | None = None
    kind: str | None = None
    source: str | None = None
    localization: str | None = None
    reason: str | None = None


def skip_reason(path: Path) -> str | None:
    """Why ``path`` is not a candidate notice (its suffix), or None."""
    name = path.name.lower()
    if DOC_NAMES.match(name):
        return "documentation"
    if name.endswith(".schema.json"):
        return ".schema.json"
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz" and len(suffixes) > 1:
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in NOT_NOTICES:
        return suffixes[-1]
    return None


def walk(root: Path) -> Iterator[Path]:
    """Regular files under ``root`` (or ``root`` itself), hidden directories skipped."""
    if root.is_file():
        yield root
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not any(p.startswith(".") for p in path.relative_to(root).parts):
            yield path


def localization_form(parsed: ParsedNotice) -> str:
    """How the notice localizes the event."""
    loc = parsed.localization
    if loc is None:
        return "none"
    if loc.skymap_bytes is not None:
        return "sky map"
    if loc.shape is not None:
        return loc.shape
    return "sky map URL" if loc.url is not None else "other"


def summarise(parsed: ParsedNotice) -> list[str]:
    """The gate's fields of a parsed notice, as ``tooflow show`` prints them."""
    fields = dict(parsed.properties)
    fields.update(event_id=parsed.event_id, kind=parsed.kind, source=parsed.source,
                  notice_type=parsed.notice_type, time=parsed.time.isoformat(),
                  is_mock=parsed.is_mock, is_retraction=parsed.is_retraction)
    loc = parsed.localization
    if loc is not None and loc.shape is not None:
        fields.update(ra=loc.ra, dec=loc.dec, error_radius=loc.error_radius,
                      localization_state=loc.shape, area_90=0.0)
    return format_fields(fields)


def parse_once(payload: bytes, source: str) -> ParsedNotice:
    """Parse and check one notice as the pipeline does."""
    return check_parsed(parse_notice(payload, source=source))


def measure(path: Path, repeat: int) -> Result:
    """Outcome and median parse time of one file."""
    payload = path.read_bytes()
    source = path.as_posix()
    try:
        parsed = parse_once(payload, source)
        summarise(parsed)
    except NoticeRejected as exc:
        outcome, reason, parsed = "rejected", str(exc), None
    except Exception as exc:  # noqa: BLE001 - a crash is what this benchmark reports
        detail = traceback.format_exception_only(exc)[-1].strip()
        return Result(path, "crashed", reason=detail[:300])
    else:
        outcome, reason = "parsed", None
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        try:
            parse_once(payload, source)
        except NoticeRejected:
            pass
        times.append(time.perf_counter() - t0)
    result = Result(path, outcome, statistics.median(times) if times else None, reason=reason)
    if parsed is not None:
        result.kind, result.source = parsed.kind, parsed.source
        result.localization = localization_form(parsed)
    return result


def mutations(data: bytes, n: int, rng: random.Random) -> Iterator[bytes]:
    """``n`` damaged copies of a file's bytes (see the module docstring)."""
    made = 0
    cuts = [data[:len(data) * k // 4] for k in (1, 2, 3)]
    text = data.decode("utf-8", "replace") if data[:1] == b"{" else None
    swaps = [] if text is None else [
        re.sub(r'(?<=: )-?\d+(\.\d+)?', '"x"', text, count=3).encode(),
        re.sub(r'(?<=: )"[^"]*"', "null", text, count=5).encode(),
        re.sub(r'(?<=: )"[^"]*"', "[]", text, count=5).encode(),
        re.sub(r'(?<=: )-?\d+(\.\d+)?', "{}", text).encode(),
    ]
    while made < n:
        if made < len(cuts):
            yield cuts[made]
        elif swaps and made % 2:
            yield swaps[(made // 2) % len(swaps)]
        else:
            damaged = bytearray(data or b"\0")
            for _ in range(rng.randint(1, 4)):
                damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            yield bytes(damaged)
        made += 1


def crashes_on_mutations(path: Path, n: int, rng: random.Random) -> list[str]:
    """Crashes (not refusals) of parse + summary over ``n`` damaged copies of ``path``."""
    found = []
    for data in mutations(path.read_bytes(), n, rng):
        try:
            parsed = parse_once(data, path.as_posix())
            summarise(parsed)
        except NoticeRejected:
            continue
        except Exception as exc:  # noqa: BLE001 - a crash is what this benchmark reports
            found.append(f"{path} (damaged): "
                         f"{traceback.format_exception_only(exc)[-1].strip()[:300]}")
    return found


def reason_group(reason: str) -> str:
    """A rejection reason with its specifics (names, numbers, quoted values) blanked."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "…", reason)
    text = re.sub(r"\(keys: [^)]*\)", "(keys: …)", text)
    text = re.sub(r"\d[\d.:T+-]*", "N", text)
    return text[:110]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}"


def report(results: list[Result], skipped: Counter, roots: list[Path], show: int,
           mutated: tuple[int, list[str]] = (0, [])) -> None:
    """Print the Markdown tables."""
    n = len(results)
    outcomes = Counter(r.outcome for r in results)
    print(f"Corpus: {', '.join(str(r) for r in roots)} — {n} candidate files "
          f"({sum(skipped.values())} skipped: "
          f"{', '.join(f'{k} {v}' for k, v in skipped.most_common()) or 'none'})\n")
    print("| outcome | files | parse time median (ms) | p99 (ms) | max (ms) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for outcome in ("parsed", "rejected", "crashed"):
        times = [r.seconds for r in results if r.outcome == outcome and r.seconds is not None]
        cells = (ms(statistics.median(times)), ms(pct(times, 0.99)), ms(max(times))) \
            if times else ("–", "–", "–")
        print(f"| {outcome} | {outcomes.get(outcome, 0)} | {' | '.join(cells)} |")
    times = [r.seconds for r in results if r.seconds is not None]
    if times:
        print(f"| **all** | {n} | {ms(statistics.median(times))} | {ms(pct(times, 0.99))} | "
              f"{ms(max(times))} |")

    by_kind: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        if r.outcome == "parsed":
            by_kind[r.kind or "?"].append(r)
    print("\n| kind | parsed | sources | localization | median (ms) | p99 (ms) |")
    print("| --- | ---: | --- | --- | ---: | ---: |")
    for kind, rs in sorted(by_kind.items(), key=lambda kv: -len(kv[1])):
        sources = Counter(r.source for r in rs)
        locs = Counter(r.localization for r in rs)
        times = [r.seconds for r in rs]
        print(f"| {kind} | {len(rs)} | "
              f"{', '.join(f'{s} {c}' for s, c in sources.most_common())} | "
              f"{', '.join(f'{s} {c}' for s, c in locs.most_common())} | "
              f"{ms(statistics.median(times))} | {ms(pct(times, 0.99))} |")

    rejected = Counter(reason_group(r.reason or "") for r in results if r.outcome == "rejected")
    if rejected:
        print(f"\n| rejected because (grouped; top {show}) | files |")
        print("| --- | ---: |")
        for reason, count in rejected.most_common(show):
            print(f"| {reason.replace('|', '/')} | {count} |")
    crashed = [r for r in results if r.outcome == "crashed"]
    print(f"\ncrashed: {len(crashed)}")
    for r in crashed:
        print(f"  {r.path}: {r.reason}")
    n_mutated, mutation_crashes = mutated
    if n_mutated:
        print(f"damaged copies: {n_mutated}, crashed: {len(mutation_crashes)}")
        for line in mutation_crashes[:20]:
            print(f"  {line}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="*", type=Path, help="more directories (or files) of notices")
    ap.add_argument("--repeat", type=int, default=3, help="timed parses per file (default 3)")
    ap.add_argument("--no-tests-data", action="store_true", help="leave out tests/data")
    ap.add_argument("--show", type=int, default=15, help="rejection reasons to list")
    ap.add_argument("--list", action="store_true", help="print every file's outcome too")
    ap.add_argument("--mutations", type=int, default=0,
                    help="damaged copies of each file to feed as well (default 0)")
    ap.add_argument("--seed", type=int, default=12, help="of the damage (default 12)")
    ap.add_argument("--log", default="ERROR", help="log level of the parsers (default ERROR)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=args.log.upper(), format="%(levelname)s %(name)s: %(message)s")
    roots = ([] if args.no_tests_data else [TESTS_DATA]) + args.dirs
    missing = [r for r in roots if not r.exists()]
    if missing:
        ap.error(f"no such directory: {', '.join(map(str, missing))}")
    results, skipped = [], Counter()
    rng, n_mutated, mutation_crashes = random.Random(args.seed), 0, []
    seen: set[Path] = set()
    for root in roots:
        for path in walk(root):
            if path.resolve() in seen:
                continue
            seen.add(path.resolve())
            why = skip_reason(path)
            if why is not None:
                skipped[why] += 1
                continue
            results.append(measure(path, args.repeat))
            if args.mutations:
                n_mutated += args.mutations
                mutation_crashes += crashes_on_mutations(path, args.mutations, rng)
    if args.list:
        for r in results:
            print(f"{r.outcome:8s} {r.kind or '-':10s} {r.path}: {r.reason or r.source}")
        print()
    report(results, skipped, roots, args.show, (n_mutated, mutation_crashes))
    return 1 if mutation_crashes or any(r.outcome == "crashed" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
