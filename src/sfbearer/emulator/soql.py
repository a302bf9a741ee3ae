"""A SOQL subset: tokenizer, recursive-descent parser, schema binding and evaluator.

Every failure, for any input string, is a :class:`SoqlError` carrying Salesforce's error code
and message style; the parser's nesting is bounded, so no input can exhaust the stack.

This module is the public face; the work is done in four layers:
:mod:`._soql_lexer` (tokens, escapes, error positions), :mod:`._soql_parser` (the query tree),
:mod:`._soql_eval` (binding to the schema, predicates, sorting, projecting) and
:mod:`._soql_plan` (bound plans, their cache, running them); parent-to-child subqueries
(``(SELECT Id FROM Contacts)``) are bound and filled in by :mod:`._soql_subquery`.

Example:
    >>> q = parse("SELECT Id, Name FROM Account WHERE Name LIKE 'Acme%' ORDER BY Name LIMIT 5")
    >>> q.sobject, [f.text for f in q.fields], q.limit
    ('Account', ['Id', 'Name'], 5)
"""

from __future__ import annotations

from ._soql_eval import MAX_OFFSET as MAX_OFFSET
from ._soql_eval import Lookup as Lookup
from ._soql_eval import Predicate as Predicate
from ._soql_eval import Row as Row
from ._soql_eval import date_range as date_range
from ._soql_eval import resolve_sobject as resolve_sobject
from ._soql_lexer import SoqlError
from ._soql_lexer import Token as Token
from ._soql_parser import MAX_DEPTH, MAX_QUERY_LENGTH, Query, parse
from ._soql_parser import Cond as Cond
from ._soql_parser import FieldRef as FieldRef
from ._soql_parser import Literal as Literal
from ._soql_plan import Plan as Plan
from ._soql_plan import PlanCache as PlanCache
from ._soql_plan import compile_where as compile_where
from ._soql_plan import execute
from ._soql_plan import prepare as prepare
from ._soql_plan import run as run

__all__ = ["MAX_DEPTH", "MAX_QUERY_LENGTH", "Query", "SoqlError", "execute", "parse"]

# Errors and queries name the module callers import them from.
SoqlError.__module__ = __name__
Query.__module__ = __name__
