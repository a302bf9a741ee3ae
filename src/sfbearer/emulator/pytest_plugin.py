"""The ``salesforce_emulator`` pytest fixture: a running local Salesforce per test.

Registered as a ``pytest11`` entry point, so it is loaded into every pytest run: it imports
nothing heavy at module level (the emulator is imported when the fixture is first used).

Example:
    def test_my_integration(salesforce_emulator, tmp_path):
        sf = salesforce_emulator
        app = sf.add_app(name="ci", certificate=cert_pem)
        sf.add_user(username="int@acme.com")
        sf.authorize(app="ci", profile="Integration User")
        ...  # point your client at sf.url, iss=app.consumer_key
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from sfbearer.emulator.core import Emulator


@pytest.fixture
def salesforce_emulator() -> Iterator[Emulator]:
    """A running emulator on a free loopback port (``salesforce`` validation profile, no TLS).

    It is stopped, and its temporary state removed, when the test ends.
    """
    from sfbearer.emulator.core import Emulator

    with Emulator() as emulator:
        yield emulator
