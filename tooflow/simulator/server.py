"""Run the simulator: in the foreground (``tooflow simulator serve``) or in a
background thread of the current process on a free port (tests, the demo)."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time

import uvicorn

from tooflow.simulator.app import create_app
from tooflow.simulator.engine import Simulator

__all__ = ["SimulatorServer", "free_port", "serve"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def serve(host: str = "127.0.0.1", port: int = 8765, *, speedup: float = 60.0,
          weather_loss: float = 0.1, seed: int = 0, start: dt.datetime | None = None,
          log_level: str = "info") -> None:
    """Serve the simulator until interrupted (blocking)."""
    sim = Simulator(speedup=speedup, weather_loss=weather_loss, seed=seed, start=start)
    sim.warm_up()
    uvicorn.run(create_app(sim), host=host, port=port, log_level=log_level)


class SimulatorServer:
    """The simulator served by uvicorn in a daemon thread of this process.

    Use as a context manager::

        with SimulatorServer(speedup=3600, weather_loss=0) as server:
            facility = get_facility("simulator", {"url": server.url})

    Parameters
    ----------
    simulator : Simulator, optional
        The engine to serve; built from the keyword arguments when omitted.
    host : str
        Interface to bind (loopback by default).
    port : int
        0 picks a free port.
    **kwargs
        Passed to :class:`~tooflow.simulator.engine.Simulator`.
    """

    def __init__(self, simulator: Simulator | None = None, *, host: str = "127.0.0.1",
                 port: int = 0, **kwargs):
        self.simulator = simulator or Simulator(**kwargs)
        self.host = host
        self.port = port or free_port(host)
        config = uvicorn.Config(create_app(self.simulator), host=self.host, port=self.port,
                                log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    @property
    def tap_url(self) -> str:
        """Base URL of the TAP service."""
        return f"{self.url}/tap"

    def start(self, timeout: float = 10.0) -> SimulatorServer:
        """Start serving; returns once the port accepts connections.

        The simulator is warmed up first (:meth:`Simulator.warm_up`), so its
        clock starts when the service does.
        """
        self.simulator.warm_up()
        self._thread = threading.Thread(target=self._server.run, name="tooflow-simulator",
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"simulator did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait for the thread to end."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
