"""A local Amazon WorkSpaces Core simulator built on moto.

Run it as a server (``python -m simulator``), or in-process for pytest
(``pytest_plugins = ["simulator.pytest_plugin"]``). Drive it with :class:`simulator.control.SimulatorControl`.
See ``simulator/README.md``.
"""

from simulator.control import SimulatorControl, SimulatorControlError

__all__ = ["SimulatorControl", "SimulatorControlError"]
