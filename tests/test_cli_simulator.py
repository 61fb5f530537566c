"""``tooflow simulator serve``: the real command, in a subprocess."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.waiting import HANG
from tooflow.cli import main, parser
from tooflow.simulator import free_port


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as info:
        main(["simulator", "serve", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--host", "--port", "--speedup", "--weather-loss", "--seed", "--start"):
        assert option in out


def test_bad_settings_are_one_line_errors(capsys):
    assert main(["simulator", "serve", "--weather-loss", "2"]) == 1
    assert capsys.readouterr().err.strip() == \
        "tooflow: error: --weather-loss must be within [0, 1], got 2.0"
    args = parser().parse_args(["simulator", "serve", "--speedup", "600", "--seed", "4"])
    assert (args.speedup, args.seed, args.port) == (600.0, 4, 8765)


@pytest.mark.slow  # server process
def test_serve_answers_health_until_terminated():
    port = free_port()
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from tooflow.cli import main; sys.exit(main())",
         "simulator", "serve", "--port", str(port),
         "--speedup", "600", "--weather-loss", "0.2", "--seed", "4",
         "--start", "2019-04-25T08:10:00Z"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + HANG
        while True:
            try:
                report = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).json()
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "simulator did not start"
                time.sleep(0.1)
        assert report["ok"] is True
        assert (report["speedup"], report["weather_loss"], report["seed"]) == (600.0, 0.2, 4)
        # The clock runs 600x from --start: bounded by the real time elapsed since
        # the process was launched, however busy the machine is.
        elapsed = time.monotonic() - started
        clock = datetime.fromisoformat(report["clock"])
        start = datetime(2019, 4, 25, 8, 10, tzinfo=UTC)
        assert start <= clock <= start + timedelta(seconds=600 * elapsed)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=60)
    assert f"tooflow simulator on http://127.0.0.1:{port}" in out
