"""``tooflow server``: the embedded Prefect server (start once, reuse, stop).

``serve`` runs tooflow's deployments (handle-notice, rerun, monitor-events,
resubmit-unsent) on it in the foreground, so that the UI's Run button and
`tooflow rerun` start runs that something executes; `tooflow listen` does the
same beside itself.
"""

from __future__ import annotations

import argparse

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("server", help="start, stop or check the local Prefect server",
                       description=__doc__)
    ssub = p.add_subparsers(title="actions", metavar="ACTION", required=True)
    ssub.add_parser("start", help="start it in the background (if not running)"
                    ).set_defaults(func=_start)
    ssub.add_parser("stop", help="stop it").set_defaults(func=_stop)
    ssub.add_parser("status", help="is it running, and where").set_defaults(func=_status)
    ssub.add_parser("serve", help="serve tooflow's deployments on it (foreground; Ctrl-C stops)"
                    ).set_defaults(func=_serve)


def _start(args: argparse.Namespace) -> int:
    from ..config import load_settings
    from ..embedded.prefect_server import ensure_prefect_api

    url = ensure_prefect_api(load_settings(), echo=print)
    print(f"Prefect API: {url}\nPrefect UI: {url.removesuffix('/api')}")
    return 0


def _stop(args: argparse.Namespace) -> int:
    from ..config import load_settings
    from ..embedded.prefect_server import stop_local_server

    print("stopped" if stop_local_server(load_settings()) else "no local server was running")
    return 0


def _status(args: argparse.Namespace) -> int:
    from ..config import load_settings
    from ..embedded.prefect_server import local_server_status

    state = local_server_status(load_settings())
    if state is None:
        print("not running (`tooflow server start`, or any `tooflow ingest`, starts it)")
        return 1
    import httpx

    ui = state["url"].removesuffix("/api")
    print(f"running: pid {state['pid']}, API {state['url']}, UI {ui}")
    try:
        asks = httpx.get(f"{ui}/ui-settings", timeout=10).json().get("api_url")
    except (httpx.HTTPError, ValueError) as exc:
        print(f"warning: its UI settings could not be read: {exc}")
        return 1
    if asks != state["url"]:
        print(f"warning: its UI asks {asks}, not its own API (started by an older tooflow); "
              "`tooflow server stop` and start it again")
        return 1
    return 0


def _serve(args: argparse.Namespace) -> int:
    from ..config import load_settings
    from ..embedded.prefect_server import activate_prefect_api, ensure_prefect_api
    from ..embedded.runner import SERVED, serve

    url = ensure_prefect_api(load_settings(), echo=print)
    activate_prefect_api(url)
    print(f"serving {', '.join(SERVED)} on {url} (Ctrl-C stops)")
    serve()
    return 0
