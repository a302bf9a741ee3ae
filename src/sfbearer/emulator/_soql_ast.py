"""SOQL's query tree: what :mod:`._soql_parser` builds and :mod:`._soql_plan` binds."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["AGGREGATES", "RANGES", "Aggregate", "Cond", "FieldRef", "FieldsCall", "Literal",
           "OrderKey", "Query"]  # fmt: skip

AGGREGATES = frozenset(("COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"))
_CALENDAR = (
    "TODAY", "YESTERDAY", "TOMORROW", "LAST_WEEK", "THIS_WEEK", "NEXT_WEEK", "LAST_MONTH",
    "THIS_MONTH", "NEXT_MONTH", "LAST_YEAR", "THIS_YEAR", "NEXT_YEAR", "LAST_90_DAYS",
    "NEXT_90_DAYS", "LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO", "LAST_N_WEEKS", "NEXT_N_WEEKS",
    "N_WEEKS_AGO", "LAST_N_MONTHS", "NEXT_N_MONTHS", "N_MONTHS_AGO", "THIS_QUARTER",
    "LAST_QUARTER", "NEXT_QUARTER", "LAST_N_QUARTERS", "NEXT_N_QUARTERS", "N_QUARTERS_AGO",
    "LAST_N_YEARS", "NEXT_N_YEARS", "N_YEARS_AGO",
)  # fmt: skip
_FISCAL = (
    "THIS_FISCAL_QUARTER", "LAST_FISCAL_QUARTER", "NEXT_FISCAL_QUARTER",
    "LAST_N_FISCAL_QUARTERS", "NEXT_N_FISCAL_QUARTERS", "N_FISCAL_QUARTERS_AGO",
    "THIS_FISCAL_YEAR", "LAST_FISCAL_YEAR", "NEXT_FISCAL_YEAR", "LAST_N_FISCAL_YEARS",
    "NEXT_N_FISCAL_YEARS", "N_FISCAL_YEARS_AGO",
)  # fmt: skip
RANGES = frozenset(_CALENDAR + _FISCAL)
"""The date literals: the ones with ``_N_`` or starting ``N_`` take ``:n``."""


@dataclass(frozen=True)
class FieldRef:
    """A field path as written (``Account.Name``), with its alias in an aggregate query."""

    parts: tuple[str, ...]
    pos: int
    alias: str | None = field(default=None, compare=False)

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Aggregate:
    """An aggregate function over a field: ``SUM(Amount)``, with its alias if written."""

    func: str  # one of AGGREGATES, upper case
    ref: FieldRef
    pos: int
    alias: str | None = field(default=None, compare=False)

    @property
    def text(self) -> str:
        return f"{self.func}({self.ref.text})"


@dataclass(frozen=True)
class FieldsCall:
    """``FIELDS(ALL)``, ``FIELDS(STANDARD)`` or ``FIELDS(CUSTOM)`` in a SELECT list."""

    kind: str
    pos: int
    at: int  # how many plain fields precede it in SELECT


@dataclass(frozen=True)
class Literal:
    kind: str  # string, number, boolean, null, date, datetime, range
    value: object
    pos: int
    raw: str = ""


@dataclass(frozen=True)
class Cond:
    """A WHERE/HAVING node: ``op`` is AND/OR/NOT (``items``) or a comparison on ``ref``/``agg``.

    A semi-join or anti-join (``Id IN (SELECT AccountId FROM Contact)``) has ``sub``.
    """

    op: str
    items: tuple[Cond, ...] = ()
    ref: FieldRef | None = None
    values: tuple[Literal, ...] = ()
    agg: Aggregate | None = None
    sub: Query | None = None


OrderKey = FieldRef | Aggregate


@dataclass(frozen=True)
class Query:
    """A parsed, not yet bound, query."""

    sobject: str
    sobject_pos: int
    fields: tuple[FieldRef, ...]  # the plain fields, in SELECT order
    count: bool = False  # ``SELECT COUNT() FROM ...``
    where: Cond | None = None
    order: tuple[tuple[OrderKey, bool, bool], ...] = ()  # (key, descending, nulls_last)
    limit: int | None = None
    offset: int | None = None
    text: str = field(default="", repr=False)
    subqueries: tuple[Query, ...] = ()  # parent-to-child: ``(SELECT Id FROM Contacts)``
    subquery_at: tuple[int, ...] = ()  # how many fields precede each subquery in SELECT
    select: tuple[FieldRef | Aggregate, ...] = ()  # fields and aggregates, in SELECT order
    fields_calls: tuple[FieldsCall, ...] = ()
    group_by: tuple[FieldRef, ...] = ()
    having: Cond | None = None

    @property
    def aggregate(self) -> bool:
        """An aggregate query: its records are ``AggregateResult`` rows."""
        return bool(self.group_by) or any(isinstance(i, Aggregate) for i in self.select)
