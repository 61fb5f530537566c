"""``tooflow iers``: refresh astropy's IERS (Earth orientation) tables.

Run it on a machine with network access, e.g. daily; offline machines plan with
predictive values (see :mod:`tooflow.iers`).
"""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("iers", help="refresh astropy's IERS tables (needs network)",
                              description=__doc__)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from tooflow.iers import network_available, refresh_iers

    if not network_available(timeout=3.0):
        print("tooflow iers: the IERS data centre is unreachable; nothing refreshed "
              "(planning keeps working with predictive values)")
        return 1
    print(refresh_iers())
    return 0
