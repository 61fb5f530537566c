"""Median parse time of GCN/SNEWS notices per family, through ``parse_notice``.

Run: ``python benchmarks/bench_parsers_gcn.py [--repeat N] [DATA_DIR]``
(default DATA_DIR: tests/data/gcn). Each notice is parsed ``N`` times after
one warm-up parse (first-use costs such as loading the JSON schemas are
reported separately); the table gives, per family, the number of files and
the median and maximum of the per-file medians, in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from tooflow.errors import NoticeRejected
from tooflow.parsers import parse_notice

FAMILIES = {
    "Fermi GBM (VOEvent)": ("fermi_gbm", "Fermi_GBM", "GRB180", "Subthreshold"),
    "Fermi LAT (VOEvent)": ("fermi_lat",),
    "Swift (VOEvent)": ("SWIFT", "swift_bat"),
    "IceCube/AMON (VOEvent)": ("AMON", "IceCube_"),
    "INTEGRAL (VOEvent)": ("INTEGRAL", "integral"),
    "MAXI (VOEvent)": ("MAXI",),
    "SVOM (VOEvent)": ("svom/",),
    "SNEWS (VOEvent)": ("snews_gcn",),
    "Einstein Probe (JSON)": ("einstein_probe", "EP2"),
    "IceCube (JSON)": ("notices/icecube",),
    "Swift BAT-GUANO (JSON)": ("bat/", "kafka_alert_swift"),
    "SVOM (JSON)": ("notices/svom", "svom_wakeup"),
    "Fermi GBM (JSON)": ("notices/fermi", "kafka_alert_fermi"),
    "SNEWS (JSON)": ("gcn-schema-pr",),
}


def family_of(path: Path) -> str | None:
    text = path.as_posix()
    wire = "(VOEvent)" if path.suffix == ".xml" else "(JSON)"
    return next((name for name, keys in FAMILIES.items()
                 if name.endswith(wire) and any(k in text for k in keys)), None)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", type=Path,
                        default=Path(__file__).parents[1] / "tests" / "data" / "gcn")
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args(argv)

    files = sorted(p for p in args.data.rglob("*") if p.suffix in (".xml", ".json"))
    first = files[0].read_bytes()
    t0 = time.perf_counter()
    try:
        parse_notice(first)
    except NoticeRejected:
        pass
    print(f"first parse (imports, schema loading): {1e3 * (time.perf_counter() - t0):.1f} ms")

    per_family: dict[str, list[float]] = {}
    for path in files:
        family = family_of(path)
        payload = path.read_bytes()
        try:
            parse_notice(payload)
        except NoticeRejected:
            continue  # refusals are not timed
        if family is None:
            continue
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            parse_notice(payload)
            times.append(time.perf_counter() - t0)
        per_family.setdefault(family, []).append(statistics.median(times))

    print(f"{'family':28s} {'files':>5s} {'median ms':>10s} {'max ms':>8s}")
    for family in FAMILIES:
        values = per_family.get(family)
        if values:
            print(f"{family:28s} {len(values):5d} {1e3 * statistics.median(values):10.3f} "
                  f"{1e3 * max(values):8.3f}")


if __name__ == "__main__":
    main()
