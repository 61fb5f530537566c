"""The ``tooflow`` command line.

Each sub-command lives in its own module of this package, which defines
``add_parser(subparsers)``; the parser it adds sets ``func`` to a function
taking the parsed arguments and returning an exit status. Heavy imports stay
inside those functions so that ``tooflow --help`` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["COMMAND_MODULES", "parser", "main"]

#: Modules of this package that contribute sub-commands, in --help order.
COMMAND_MODULES = [
    "db",
    "ingest",
    "events",
    "circular",
    "server",
    "simulator",
    "listen", "send", "reconcile", "rerun", "health",
    "coincidence",
    "plan", "iers",
]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tooflow")
    except PackageNotFoundError:  # pragma: no cover - running from a checkout
        return "unknown"


def parser() -> argparse.ArgumentParser:
    """Build the argument parser with every sub-command."""
    p = argparse.ArgumentParser(
        prog="tooflow",
        description="Target-of-opportunity marshal for multi-messenger astronomy.",
    )
    p.add_argument("--version", action="version", version=f"tooflow {_version()}")
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="show Prefect's log of every task run")
    sub = p.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").add_parser(sub)
    return p


def _prefect_defaults(verbose: bool = False) -> None:
    """Before Prefect is imported: its home under TOOFLOW_HOME, no analytics, quiet logs."""
    import os

    from ..config import default_home

    os.environ.setdefault("PREFECT_HOME", str(default_home() / "prefect"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO" if verbose else "WARNING")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tooflow`` command line; errors print as one line unless ``--debug``."""
    args = parser().parse_args(argv)
    _prefect_defaults(verbose=args.verbose)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
        if args.debug:
            raise
        print(f"tooflow: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
