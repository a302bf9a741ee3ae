"""SOQL's lexical layer: the error type, tokens, string-literal escapes and error positions.

Every failure is a :class:`SoqlError` whose message points at the offending column the way
Salesforce does (the query line, a caret, ``ERROR at Row:r:Column:c``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .schema import ApiErrorResponse

__all__ = ["SoqlError", "Token", "compile_like", "error_at", "tokenize", "unescape"]


class SoqlError(ApiErrorResponse):
    """A query Salesforce would refuse: ``error_code`` and ``message`` as it sends them."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(400, error_code, message)


_KEYWORDS = frozenset((
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "NULL", "TRUE", "FALSE", "LIKE", "IN", "ORDER",
    "BY", "LIMIT", "OFFSET", "ASC", "DESC", "NULLS", "FIRST", "LAST", "GROUP", "HAVING",
    "INCLUDES", "EXCLUDES", "WITH", "FOR", "USING", "TYPEOF",
))  # fmt: skip
_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      |(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2}))
      |(?P<date>\d{4}-\d{2}-\d{2})(?![\w:])
      |(?P<number>[+-]?\d+(?:\.\d+)?)(?![\w.])
      |(?P<ident>[A-Za-z][A-Za-z0-9_]*(?::\d+)?)
      |(?P<string>'(?:[^'\\]|\\.)*')
      |(?P<op><>|!=|<=|>=|=|<|>)
      |(?P<punct>[(),.])""",
    re.VERBOSE | re.DOTALL | re.ASCII,  # ASCII: no exotic digits reach int() or date()
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'"}
_ESCAPES["\\"] = "\\"


@dataclass(frozen=True)
class Token:
    kind: str  # ident, keyword, string, number, date, datetime, op, punct, eof
    text: str
    pos: int

    @property
    def upper(self) -> str:
        return self.text.upper()


def error_at(text: str, pos: int, code: str, message: str) -> SoqlError:
    """Salesforce's shape: the query line, a caret under the column, the row/column, a message."""
    pos = max(0, min(pos, len(text)))
    row = text.count("\n", 0, pos) + 1
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    line = text[start : end if end >= 0 else len(text)]
    col = pos - start + 1
    if len(line) > 200:  # keep error bodies small for very long queries
        cut = max(0, col - 100)
        line, col = line[cut : cut + 200], col - cut
    return SoqlError(
        code, f"\n{line}\n{' ' * (col - 1)}^\nERROR at Row:{row}:Column:{col}\n{message}"
    )


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            ch = text[pos]
            what = "unterminated string literal" if ch == "'" else f"unexpected token: '{ch}'"
            raise error_at(text, pos, "MALFORMED_QUERY", what)
        kind = m.lastgroup or "ws"
        if kind != "ws":
            if kind == "ident" and m.group().upper() in _KEYWORDS:
                kind = "keyword"
            tokens.append(Token(kind, m.group(), pos))
        pos = m.end()
    tokens.append(Token("eof", "<EOF>", len(text)))
    return tokens


def _scan(text: str, raw: str, pos: int) -> Iterator[tuple[str, bool]]:
    """Each character of a string literal's body, and whether it was written escaped."""
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\":
            nxt = raw[i + 1]
            if nxt.lower() in _ESCAPES or nxt in "\\'\"":
                yield _ESCAPES.get(nxt.lower(), nxt), True
            elif nxt in "%_":
                yield nxt, True
            else:
                raise error_at(text, pos + i + 1, "MALFORMED_QUERY", "Invalid string literal "
                             f"'{raw[:40]}'. Illegal character sequence '\\{nxt}' in string literal.")  # fmt: skip
            i += 2
            continue
        yield ch, False
        i += 1


def unescape(text: str, raw: str, pos: int) -> str:
    """A string literal's value (``\\%`` and ``\\_`` keep their backslash outside LIKE)."""
    return "".join(
        "\\" + ch if escaped and ch in "%_" else ch for ch, escaped in _scan(text, raw, pos)
    )


def compile_like(text: str, raw: str, pos: int) -> Callable[[str], bool]:
    """A case-insensitive matcher for a LIKE pattern: ``%`` any run, ``_`` one character.

    One regular expression with several ``.*`` tries every way of splitting a value that
    almost matches (``'%a%a%a%a%c'`` on a long run of ``a``): minutes, under the store's lock.
    So the pattern is cut at each ``%`` into pieces of fixed width: the first must start the
    value, the last must end it, and the others are found left to right in between, each at
    its leftmost place; that is exact for fixed-width pieces and never backtracks.
    """
    pieces: list[list[str]] = [[]]
    for ch, escaped in _scan(text, raw, pos):
        if escaped or ch not in "%_":
            pieces[-1].append(re.escape(ch))
        elif ch == "_":
            pieces[-1].append(".")
        else:
            pieces.append([])
    flags = re.IGNORECASE | re.DOTALL  # IGNORECASE folds one character to one character
    compiled = [(re.compile("".join(p), flags), len(p)) for p in pieces]
    if len(compiled) == 1:
        whole = compiled[0][0]
        return lambda value: whole.fullmatch(value) is not None
    (first, first_width), *pieces_between, (last, last_width) = compiled
    middle = [(piece, width) for piece, width in pieces_between if width]  # "%%" is "%"
    needed = sum(width for _, width in compiled)

    def match(value: str) -> bool:
        if len(value) < needed or first.match(value) is None:
            return False
        end = len(value) - last_width
        if last.fullmatch(value, end) is None:
            return False
        at = first_width
        for piece, _ in middle:
            found = piece.search(value, at, end)
            if found is None:
                return False
            at = found.end()
        return True

    return match
