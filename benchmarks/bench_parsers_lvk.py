"""Median time of LVK notice parsing and sky-map handling, per kind.

Run: ``python benchmarks/bench_parsers_lvk.py [--repeat N] [LVK_DIR] [SKYMAP_DIR]``
(defaults: tests/data/lvk and tests/data/skymaps; folders holding the full public
sample set named in their SOURCES.md can be given instead). Every input is processed
once to warm up (imports, schema loading: reported separately), then ``N``
times; the tables give, per kind, the number of files and the median and
maximum of the per-file medians, in milliseconds.

* Parsing is ``parse_notice(bytes)``: sniffing, Avro/JSON/XML decoding, schema
  validation, base64 decoding and the FITS header check of embedded maps.
* Sky maps: ``read_skymap_bytes`` (to the multi-order table) and ``summarize``;
  ``circle_to_moc`` for a 1-arcmin and a 10-degree circle.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from tooflow.errors import NoticeRejected
from tooflow.parsers import parse_notice
from tooflow.skymap import circle_to_moc, read_skymap_bytes, summarize

ROOT = Path(__file__).parents[1]


def median_ms(func: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def parse_or_reject(data: bytes) -> None:
    try:
        parse_notice(data)
    except NoticeRejected:
        pass


def kind_of(path: Path, data: bytes) -> str:
    """Wire format and what the notice turned out to be (from parsing it)."""
    wire = {".avro": "Avro", ".xml": "VOEvent"}.get(path.suffix, "JSON")
    try:
        notice = parse_notice(data)
    except NoticeRejected:
        return f"{wire} rejected"
    if notice.is_retraction:
        return f"{wire} retraction"
    if notice.external_coincidence:
        return f"{wire} RAVEN"
    loc = notice.localization
    if loc is not None and loc.skymap_bytes is not None:
        return f"{wire} with map ({len(loc.skymap_bytes) // 1000} kB)"
    return f"{wire} map by URL" if loc is not None and loc.url else f"{wire} no map"


def table(title: str, rows: dict[str, list[float]]) -> None:
    print(f"\n{title}")
    print(f"{'kind':32s} {'files':>5s} {'median ms':>10s} {'max ms':>8s}")
    for kind in sorted(rows):
        values = rows[kind]
        print(f"{kind:32s} {len(values):5d} {statistics.median(values):10.2f} {max(values):8.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lvk", nargs="?", type=Path, default=ROOT / "tests" / "data" / "lvk")
    parser.add_argument("skymaps", nargs="?", type=Path,
                        default=ROOT / "tests" / "data" / "skymaps")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)

    files = sorted(p for p in args.lvk.rglob("*") if p.suffix in (".avro", ".json", ".xml"))
    t0 = time.perf_counter()
    for path in files:
        parse_or_reject(path.read_bytes())
    print(f"first pass over {len(files)} notices (imports, schemas): "
          f"{1e3 * (time.perf_counter() - t0):.0f} ms")

    rows: dict[str, list[float]] = defaultdict(list)
    for path in files:
        data = path.read_bytes()
        rows[kind_of(path, data)].append(median_ms(lambda d=data: parse_or_reject(d),
                                                   args.repeat))
    table("parse_notice", rows)

    maps: dict[str, list[float]] = defaultdict(list)
    for path in sorted(p for p in args.skymaps.rglob("*") if ".fit" in p.name):
        data = path.read_bytes()
        moc = read_skymap_bytes(data)
        maps[f"read {path.name[:27]}"].append(
            median_ms(lambda d=data: read_skymap_bytes(d), max(3, args.repeat // 4)))
        maps[f"summarize {path.name[:22]}"].append(median_ms(lambda m=moc: summarize(m),
                                                             args.repeat))
    avro = args.lvk / "avro" / "MS181101ab-preliminary.avro"
    if avro.exists():
        import io

        import fastavro

        data = next(fastavro.reader(io.BytesIO(avro.read_bytes())))["event"]["skymap"]
        moc = read_skymap_bytes(data)
        maps["read bayestar (MS181101ab)"].append(
            median_ms(lambda: read_skymap_bytes(data), args.repeat))
        maps["summarize bayestar (MS181101ab)"].append(median_ms(lambda: summarize(moc),
                                                                 args.repeat))
    for radius, label in ((1 / 60, "1 arcmin"), (10.0, "10 deg")):
        maps[f"circle_to_moc {label}"].append(
            median_ms(lambda r=radius: circle_to_moc(150.0, -30.0, r), args.repeat))
    table("sky maps", maps)


if __name__ == "__main__":
    main()
