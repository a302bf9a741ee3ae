"""``httpx``, imported without its command-line client.

httpx's package ``__init__`` imports its CLI (click, rich, pygments: about half of httpx's
import time) whenever those happen to be installed. A library never runs that CLI, so the
first import made through here hides ``httpx._main`` for the duration of the import; httpx
then binds its documented fallback ``httpx.main``. Nothing changes when httpx was already
imported, and ``import httpx._main`` still works afterwards.
"""

from __future__ import annotations

import sys

if "httpx" not in sys.modules and "httpx._main" not in sys.modules:
    sys.modules["httpx._main"] = None  # type: ignore[assignment]
    try:
        import httpx
    finally:
        del sys.modules["httpx._main"]

import httpx

__all__ = ["httpx"]
