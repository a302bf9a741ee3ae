"""A local Salesforce for the JWT bearer flow and a slice of the REST API.

The emulator is an independent referee: it validates assertions with its own code
(PyJWT with an explicit ``["RS256"]`` allow-list and its own claim checks) and imports
nothing from sfbearer's client side.

Example:
    >>> from sfbearer.emulator import Emulator
    >>> with Emulator() as sf:  # doctest: +SKIP
    ...     app = sf.add_app(name="ci", certificate="server.crt")
    ...     sf.add_user(username="int@acme.com")
    ...     sf.authorize(app="ci", profile="Integration User")

Names are imported lazily so that ``import sfbearer.emulator`` (done by the pytest plugin
in every test run) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sfbearer.emulator.clock import Clock
    from sfbearer.emulator.config import EmulatorConfig
    from sfbearer.emulator.core import AppInfo, Emulator, UserInfo
    from sfbearer.emulator.faults import Faults

__all__ = ["AppInfo", "Clock", "Emulator", "EmulatorConfig", "Faults", "UserInfo"]

_LAZY = {
    "AppInfo": "sfbearer.emulator.core",
    "Clock": "sfbearer.emulator.clock",
    "Emulator": "sfbearer.emulator.core",
    "EmulatorConfig": "sfbearer.emulator.config",
    "Faults": "sfbearer.emulator.faults",
    "UserInfo": "sfbearer.emulator.core",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sfbearer.emulator' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
