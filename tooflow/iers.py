"""Earth-orientation (IERS) tables for astropy, online or offline.

astropy downloads IERS-A tables on demand and, offline, refuses times more than
30 days past its bundled tables ("interpolating from IERS_Auto using predictive
values that are more than 30.0 days old"). For scheduling, predictive values are
good enough (UT1-UTC error well under a second), so :func:`configure_iers` turns
off auto-download and accepts them when tooflow is offline. ``tooflow iers``
(:mod:`tooflow.cli.iers`) refreshes the cached tables where the network exists.
"""

from __future__ import annotations

import os
import socket
import threading
import warnings

__all__ = ["configure_iers", "ensure_iers", "network_available", "refresh_iers"]

_PROBE_HOST = ("datacenter.iers.org", 443)
_probe_result: bool | None = None
_configured: bool | None = None


def network_available(timeout: float = 1.0) -> bool:
    """True when the IERS data centre answers a TCP connection within ``timeout`` s.

    The answer is cached for the process. Nothing is downloaded.
    """
    global _probe_result
    if _probe_result is not None:
        return _probe_result
    result = [False]

    def probe() -> None:
        try:
            with socket.create_connection(_PROBE_HOST, timeout=timeout):
                result[0] = True
        except OSError:
            result[0] = False

    th = threading.Thread(target=probe, daemon=True)
    th.start()
    th.join(timeout + 0.5)  # DNS lookups ignore the socket timeout
    _probe_result = bool(result[0])
    return _probe_result


def _resolve(offline: bool | None) -> bool:
    if offline is not None:
        return bool(offline)
    value = os.environ.get("TOOFLOW_IERS_OFFLINE")
    if value is None:
        try:
            from tooflow.config import load_settings

            value = str(load_settings().iers_offline)
        except Exception:  # noqa: BLE001 - settings are optional here
            value = "auto"
    value = value.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    return not network_available()


def configure_iers(offline: bool | None = None) -> bool:
    """Configure astropy's IERS handling; return True when offline mode is on.

    Parameters
    ----------
    offline : bool or None
        True: never download, accept predictive/degraded values with a warning
        (silenced). False: astropy's defaults (download when stale). None: the
        ``TOOFLOW_IERS_OFFLINE`` variable or the ``iers_offline`` setting
        (``auto`` = offline when the IERS data centre is unreachable).
    """
    global _configured
    from astropy.utils import iers

    off = _resolve(offline)
    _configured = off
    if off:
        iers.conf.auto_download = False
        iers.conf.auto_max_age = None
        iers.conf.iers_degraded_accuracy = "warn"
        warnings.filterwarnings("ignore", module=r"astropy\.utils\.iers")
        warnings.filterwarnings("ignore", message=r".*(IERS|leap-second|ERFA function).*")
    else:
        iers.conf.reset("auto_download")
        iers.conf.reset("auto_max_age")
        iers.conf.reset("iers_degraded_accuracy")
    return off


def ensure_iers() -> bool:
    """Configure IERS handling once per process (:func:`configure_iers` with the
    settings); an explicit earlier :func:`configure_iers` call is kept."""
    if _configured is None:
        return configure_iers()
    return _configured


def refresh_iers() -> str:
    """Download fresh IERS-A and leap-second tables into astropy's cache.

    Returns a one-line description of what is now cached. Needs the network.
    """
    from astropy.utils import iers
    from astropy.utils.data import download_file

    iers.conf.reset("auto_download")
    for url in (iers.conf.iers_auto_url, iers.conf.iers_auto_url_mirror):
        try:
            download_file(url, cache="update")
            break
        except Exception as exc:  # noqa: BLE001 - try the mirror, then give up
            err = exc
    else:
        raise RuntimeError(f"could not download IERS-A tables: {err}")
    table = iers.IERS_Auto.open()
    iers.LeapSeconds.auto_open()
    last = table["MJD"][-1]
    return f"IERS-A tables cached; predictions up to MJD {last}"
