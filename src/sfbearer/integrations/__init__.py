"""Adapters for other HTTP clients and Salesforce libraries (each behind an optional extra).

- :mod:`sfbearer.integrations.requests` — :class:`SalesforceRequestsAuth` for ``requests``
  (``pip install 'sfbearer[requests]'``).
- :mod:`sfbearer.integrations.simple_salesforce` — ``connect(credentials)`` returns a
  simple-salesforce ``Salesforce`` whose session renews itself
  (``pip install 'sfbearer[simple-salesforce]'``).

Nothing here is imported by ``import sfbearer``.
"""

from __future__ import annotations

__all__: list[str] = []
