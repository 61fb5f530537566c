"""A telescope network simulator served over HTTP (queue API and TAP).

It is the embedded default facility: ``tooflow simulator serve`` runs it in the
foreground; :class:`SimulatorServer` runs it in a background thread.
"""

from tooflow.simulator.engine import Simulator
from tooflow.simulator.server import SimulatorServer, free_port, serve

__all__ = ["Simulator", "SimulatorServer", "free_port", "serve"]
