"""Peak memory of one notice's sky-map processing, for the largest real maps and
generated large flat maps.

Run: ``python benchmarks/memory.py [--case NAME ...] [--data DIR]``

Real maps are read from the repository's tests/data; one not there (the 2.6 MB
gwcelery Swift MOC) is looked up by file name under ``--data`` (e.g. a checkout
of the public sources named in tests/data/skymaps/SOURCES.md), or fails alone.

Each case runs in a fresh process (so that one case's peak does not hide
another's): it reads the map bytes and runs what the flow runs on them — the
parser's check (:func:`tooflow.skymap.read.verify_skymap_bytes`) and
:func:`tooflow.skymap.read_skymap_bytes` (header checks, chunked reading and
downsampling of large flat maps, flat → multi-order) — then prints:

* ``rss MB``: the process's peak resident set size (``ru_maxrss``), imports
  (astropy, ligo.skymap, numpy: ~250 MB) included;
* ``traced MB``: the peak of Python and numpy allocations during the read
  (tracemalloc), i.e. what the map itself costs;
* ``s``: wall time of the read (on a busy machine, indicative only).

The memory budget stated in docs/operations.md (1 GB per notice) is checked
against the rss column. Generated maps (tests/generated_maps.py) put all the
probability in one nside-64 pixel; they are written chunk by chunk into gzip
in the benchmark process itself (not counted: generation ends before the
measurement starts, and the peak reported is that of the read).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: where real maps not in tests/data are looked up by file name (``--data``)
DATA = ROOT / "tests" / "data"

#: name → (what, how to get the bytes)
CASES = {
    "MS181101ab Avro (MOC, 780 kB)": ("real", "tests/data/lvk/avro/MS181101ab-preliminary.avro"),
    "swift MOC 2.6 MB": ("real", "skymaps/gwcelery/swift_skymap.multiorder.fits"),
    "S190814bv flat 1024 + dist": ("real",
                                   "tests/data/skymaps/S190814bv_5_LALInference.v1.fits.gz"),
    "GRB220617A IPN flat 2048 RING": ("real",
                                      "tests/data/skymaps/GRB220617A_IPN_map_hpx.fits.gz"),
    "GBM flat 128": ("real", "tests/data/skymaps/glg_healpix_all_bn180116026.fit"),
    "generated 2048 float64": ("gen", (2048, "float64", True, False)),
    "generated 2048 float64 RING + dist": ("gen", (2048, "float64", False, True)),
    "generated 4096 float32 in Avro": ("avro", (4096, "float32", True, False)),
    "generated 4096 float64 + dist": ("gen", (4096, "float64", True, True)),
    "generated 8192 float64 (refused)": ("gen8192", None),
}


def _bytes(kind: str, spec) -> bytes:
    sys.path.insert(0, str(ROOT))
    if kind == "real":
        path = ROOT / spec
        if not path.exists():
            found = sorted(DATA.rglob(Path(spec).name))
            if not found:
                raise FileNotFoundError(f"no {Path(spec).name} under {DATA} (see --data)")
            path = found[0]
        data = path.read_bytes()
        if path.suffix == ".avro":
            from tooflow.parsers import parse_notice

            return parse_notice(data).localization.skymap_bytes
        return data
    from tests.generated_maps import flat_map_gz

    if kind == "gen":
        nside, dtype, nest, dist = spec
        return flat_map_gz(nside, dtype=dtype, nest=nest, distances=dist)
    if kind == "avro":
        import io

        import fastavro

        from tooflow.parsers import parse_notice

        nside, dtype, nest, dist = spec
        reader = fastavro.reader(io.BytesIO(
            (ROOT / "tests/data/lvk/avro/MS181101ab-preliminary.avro").read_bytes()))
        schema, record = reader.writer_schema, next(reader)
        record["event"]["skymap"] = flat_map_gz(nside, dtype=dtype, nest=nest,
                                                distances=dist, level=6)
        out = io.BytesIO()
        fastavro.writer(out, schema, [record])
        return parse_notice(out.getvalue()).localization.skymap_bytes
    import gzip

    from astropy.io import fits

    header = fits.Header([("XTENSION", "BINTABLE"), ("BITPIX", 8), ("NAXIS", 2),
                          ("NAXIS1", 8), ("NAXIS2", 12 * 8192 ** 2), ("PCOUNT", 0),
                          ("GCOUNT", 1), ("TFIELDS", 1), ("TTYPE1", "PROB"), ("TFORM1", "D"),
                          ("ORDERING", "NESTED"), ("NSIDE", 8192), ("INDXSCHM", "IMPLICIT")])
    return gzip.compress(fits.PrimaryHDU().header.tostring().encode()
                         + header.tostring().encode() + bytes(1 << 20))


def run_one(name: str) -> dict:
    """Measure one case in this process."""
    from tooflow.errors import NoticeRejected
    from tooflow.skymap.read import read_skymap_bytes, verify_skymap_bytes

    kind, spec = CASES[name]
    data = _bytes(kind, spec)
    tracemalloc.start()
    t0 = time.perf_counter()
    outcome = ""
    try:
        verify_skymap_bytes(data)
        table = read_skymap_bytes(data)
        outcome = f"{len(table)} rows" + (f", from nside {table.meta['downsampled_from_nside']}"
                                          if "downsampled_from_nside" in table.meta else "")
    except NoticeRejected as exc:
        outcome = f"refused: {str(exc)[:60]}"
    seconds = time.perf_counter() - t0
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"name": name, "input_MB": len(data) / 1e6, "rss_MB": rss / 1e6,
            "traced_MB": traced / 1e6, "s": seconds, "outcome": outcome}


def main(argv: list[str] | None = None) -> int:
    global DATA  # noqa: PLW0603 - the option reaches _bytes in the --one process
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", choices=list(CASES),
                        help="run only this case (repeatable)")
    parser.add_argument("--data", type=Path, default=DATA,
                        help="directory searched by file name for maps not in tests/data")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    DATA = args.data.resolve()
    if args.one:
        print(json.dumps(run_one(args.one)))
        return 0
    print(f"{'case':36} {'input MB':>9} {'rss MB':>8} {'traced MB':>10} {'s':>6}  outcome")
    for name in args.case or list(CASES):
        done = subprocess.run([sys.executable, __file__, "--one", name, "--data", str(DATA)],
                              capture_output=True, text=True, cwd=ROOT)
        if done.returncode:
            print(f"{name:36} failed: {done.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{name:36} {r['input_MB']:9.2f} {r['rss_MB']:8.0f} {r['traced_MB']:10.0f} "
              f"{r['s']:6.1f}  {r['outcome']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
