"""How long the ``tooflow`` commands typed on duty take to answer, and what they import.

Run: ``python benchmarks/cli_startup.py [--repeat N] [--only SUBSTRING]``; to compare
with another tree of tooflow (an older commit: ``git archive COMMIT tooflow | tar -x -C
DIR``), ``PYTHONPATH=DIR python benchmarks/cli_startup.py``.

Each command runs ``--repeat`` times (default 3) in a fresh Python process, as
the ``tooflow`` entry point does (``tooflow.cli.main``); the table gives the
median wall time, the median CPU time of the process (user + system, from
``wait4``: the machine's load affects it less than wall time), the modules
imported and which heavy libraries were among them. Two baselines are measured
in the same run: ``python -c pass`` and ``import tooflow``; the ratio column is
CPU time over ``python -c pass``'s.

The databases: ``$TMP/fresh`` has no database at all (a fresh
``TOOFLOW_HOME``); ``$TMP/samples`` holds the sample notices
(``tooflow db create --sample``, made once before the timings), one of whose
notices is given a flow run id, as every notice the flow handled has, so that
``tooflow show`` has a run to link to the Prefect UI.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Libraries worth knowing a command imported (seconds of CPU each on a busy machine).
HEAVY = ("prefect", "ortools", "astropy", "ligo", "matplotlib", "healpy", "mocpy", "scipy",
         "numpy", "pandas", "alembic", "httpx", "fastapi", "jinja2", "afterglowpy",
         "confluent_kafka", "PIL")

#: Run tooflow's entry point, then report the modules it imported (also after --help's exit).
DRIVER = r"""
import atexit, os, sys
def _report():
    heavy = sorted({m.split(".")[0] for m in sys.modules} & set(os.environ["CLI_HEAVY"].split()))
    with open(os.environ["CLI_REPORT"], "w") as f:
        f.write(f"{len(sys.modules)} {','.join(heavy)}")
atexit.register(_report)
if sys.argv[1:] == ["--baseline-pass"]:
    pass
elif sys.argv[1:] == ["--baseline-import"]:
    import tooflow
else:
    from tooflow.cli import main
    sys.exit(main(sys.argv[1:]))
"""

#: (label, TOOFLOW_HOME: "fresh" or "samples", argv)
COMMANDS = [
    ("python -c pass", "fresh", ["--baseline-pass"]),
    ("import tooflow", "fresh", ["--baseline-import"]),
    ("tooflow --help", "fresh", ["--help"]),
    ("tooflow plan --help", "fresh", ["plan", "--help"]),
    ("tooflow show MS181101ab (fresh home)", "fresh", ["show", "MS181101ab"]),
    ("tooflow health (fresh home)", "fresh", ["health"]),
    ("tooflow show MS181101ab (missing)", "samples", ["show", "MS181101ab"]),
    ("tooflow show S230518h (a flow run)", "samples", ["show", "S230518h"]),
    ("tooflow show Fermi-GBM-680977982", "samples", ["show", "Fermi-GBM-680977982"]),
    ("tooflow events", "samples", ["events"]),
    ("tooflow health", "samples", ["health"]),
    ("tooflow candidates S230518h", "samples", ["candidates", "S230518h"]),
    ("tooflow vet ZTF18abvkwla (missing)", "samples",
     ["vet", "ZTF18abvkwla", "--state", "interesting", "--comment", "red and fading"]),
    ("tooflow circular S230518h", "samples", ["circular", "S230518h"]),
    ("tooflow approve", "samples", ["approve"]),
]


def _env(home: Path, report: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TOOFLOW_", "PREFECT_"))}
    env.update(TOOFLOW_HOME=str(home), PREFECT_HOME=str(home / "prefect"),
               PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1",
               CLI_REPORT=str(report), CLI_HEAVY=" ".join(HEAVY))
    return env


def run_once(argv: list[str], home: Path, report: Path) -> tuple[float, float, int, str, int]:
    """One fresh process: (wall s, CPU s, modules imported, heavy ones, exit status)."""
    started = time.perf_counter()
    # cwd: the home, so that ``-c``'s first sys.path entry is no checkout (PYTHONPATH can
    # point at another tree to compare) and no prefect.toml/.env of the caller is read
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, *argv], env=_env(home, report),
                            cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    modules, _, heavy = report.read_text().partition(" ")
    return wall, usage.ru_utime + usage.ru_stime, int(modules), heavy, proc.returncode


def prepare(tmp: Path) -> dict[str, Path]:
    """A fresh home and a home with the sample notices, one of them with a flow run id."""
    homes = {"fresh": tmp / "fresh", "samples": tmp / "samples"}
    for home in homes.values():
        home.mkdir()
    subprocess.run([sys.executable, "-c", "from tooflow.cli import main; import sys; "
                    "sys.exit(main(['db', 'create', '--sample']))"],
                   env=_env(homes["samples"], tmp / "unused"), cwd=homes["samples"],
                   check=True, stdout=subprocess.DEVNULL)
    with sqlite3.connect(homes["samples"] / "tooflow.sqlite") as db:
        db.execute("UPDATE notice SET flow_run_id = '0b6c1c35-4c4e-4f4b-9a53-3f1a1e7f2d10', "
                   "flow_run_name = 'benchmark-run' WHERE event_pk = "
                   "(SELECT id FROM event WHERE event_id = 'S230518h')")
    return homes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3, help="runs of each command (default 3)")
    p.add_argument("--only", help="only the commands whose label contains this")
    args = p.parse_args(argv)
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; "
          f"{args.repeat} run(s) each, medians")
    with tempfile.TemporaryDirectory(prefix="cli-startup-") as d:
        tmp = Path(d)
        homes = prepare(tmp)
        report = tmp / "report.txt"
        rows = []
        for label, home, cmd in COMMANDS:
            if args.only and args.only not in label and not label.startswith(("python", "import")):
                continue
            runs = [run_once(cmd, homes[home], report) for _ in range(args.repeat)]
            rows.append((label, statistics.median(r[0] for r in runs),
                         statistics.median(r[1] for r in runs), runs[-1][2], runs[-1][3],
                         runs[-1][4]))
    base_cpu = rows[0][2] or 1e-9
    print(f"{'command':<40} {'wall s':>7} {'CPU s':>6} {'CPU ×':>6} {'modules':>7} {'exit':>4}"
          "  heavy libraries imported")
    for label, wall, cpu, modules, heavy, status in rows:
        print(f"{label:<40} {wall:7.2f} {cpu:6.2f} {cpu / base_cpu:6.1f} {modules:7d} "
              f"{status:4d}  {heavy.replace(',', ', ') or '-'}")
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
