"""What to do about a Salesforce REST API error, from its ``errorCode``.

:func:`api_hint` gives every :class:`~sfbearer.ApiError` a ``hint`` a person can act on;
:func:`one_line` folds Salesforce's multi-line SOQL messages (the query, a caret, ``ERROR at
Row:1:Column:12``, the reason) into one line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["api_hint", "one_line"]

_HINTS: dict[str, str] = {
    "NOT_FOUND": 'check the object name and record id (sfbearer query "SELECT Id FROM TYPE '
    'LIMIT 5" lists some); the record may also have been deleted or not be shared with '
    "the integration user",
    "MALFORMED_QUERY": "fix the SOQL at the row and column named (run again with -v to see "
    "the query with a caret under the spot)",
    "MALFORMED_ID": "a record id is 15 or 18 letters and digits of the right object",
    "INVALID_FIELD": "check the field's API name (custom fields end in __c) with sfbearer "
    "request GET sobjects/TYPE/describe; the integration user may also lack field access",
    "INVALID_TYPE": "check the object's API name (custom objects end in __c) with sfbearer "
    "request GET sobjects/; the integration user may also lack access to it",
    "INVALID_FIELD_FOR_INSERT_UPDATE": "leave read-only and system fields out of the body "
    "(describe shows which fields are createable and updateable)",
    "INVALID_SESSION_ID": "the session expired or was revoked, and logging in again did not "
    "help; check the app's session policy and run sfbearer doctor",
    "REQUEST_LIMIT_EXCEEDED": "the org's API request limit is used up; wait for it to reset "
    "(sfbearer request GET limits/ shows DailyApiRequests) or spread the calls out",
    "DELETE_FAILED": "another record still refers to this one, or the user may not delete it; "
    "the message says which",
    "DUPLICATE_VALUE": "a unique field already holds this value on another record; update "
    "that record instead, or change the value",
    "INVALID_CROSS_REFERENCE_KEY": "a lookup or id in the request points at no record the "
    "user can see; check the ids in the body and the path",
    "REQUIRED_FIELD_MISSING": "add the required fields the message names to the body",
    "FIELD_CUSTOM_VALIDATION_EXCEPTION": "a validation rule in the org refused the record; "
    "the message is the rule's own",
    "FIELD_INTEGRITY_EXCEPTION": "a field's value does not fit it (a lookup to the wrong "
    "object, a bad picklist value); the message names the field",
    "STRING_TOO_LONG": "shorten the value: the message names the field and its length limit",
    "INVALID_EMAIL_ADDRESS": "fix the email address the message names",
    "ENTITY_IS_DELETED": "the record is in the Recycle Bin; undelete it in Salesforce or use "
    "another record",
    "INSUFFICIENT_ACCESS": "the integration user lacks the permission; grant it through a "
    "permission set",
    "INSUFFICIENT_ACCESS_OR_READONLY": "the integration user cannot edit this record; check "
    "its sharing, the object permissions and the record's owner",
    "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY": "the integration user cannot see a "
    "record the request refers to; check its sharing",
    "API_DISABLED_FOR_ORG": "the org's edition or settings do not allow API access; an "
    "administrator must enable it",
    "API_CURRENTLY_DISABLED": "the user's profile lacks 'API Enabled'; grant it through a "
    "permission set",
    "METHOD_NOT_ALLOWED": "this resource does not take that HTTP method; see the REST API "
    "reference for the resource",
    "JSON_PARSER_ERROR": "the body is not what the resource expects: check field names and "
    "value types",
    "EXCEEDED_ID_LIMIT": "narrow the query (a WHERE clause, a LIMIT) or page with ORDER BY Id",
    "QUERY_TIMEOUT": "the query took too long: filter on indexed fields and narrow it",
    "UNABLE_TO_LOCK_ROW": "another transaction holds the record; try again shortly",
    "SERVER_UNAVAILABLE": "Salesforce is unavailable; try again later (trust.salesforce.com "
    "shows incidents)",
    "INVALID_RESPONSE": "the server's answer was not what a Salesforce REST API sends; check "
    "that the instance URL is a Salesforce org",
}

_BY_STATUS: dict[int, str] = {
    400: "the request is malformed: check the path, query string and body",
    401: "the session is not valid; run sfbearer doctor to check the whole chain",
    403: "the integration user or the app may not do this; check the user's permissions "
    "and the app's OAuth scopes",
    404: "check the path: an absolute /services/data/vXX.X/... path, or one relative to the "
    "newest version such as sobjects/Account/describe",
    405: "this resource does not take that HTTP method",
    409: "the record changed meanwhile; read it again and retry",
    415: "send a JSON body (--data '{...}' or --data @FILE)",
}

# "ERROR at Row:1:Column:12" in Salesforce's SOQL messages
_ROW_COLUMN = re.compile(r"ERROR at Row:(\d+):Column:(\d+)")


def api_hint(status: int, error_code: str, fields: Sequence[str] = ()) -> str:
    """A hint for a REST API error: by ``errorCode``, else by HTTP status.

    Example:
        >>> api_hint(404, "NOT_FOUND").startswith("check the object name and record id")
        True
        >>> api_hint(418, "HTTP_418")
        'see the message above and the Salesforce REST API reference for this resource'
    """
    hint = _HINTS.get(error_code)
    if hint is None and status >= 500:
        hint = _HINTS["SERVER_UNAVAILABLE"]
    if hint is None:
        hint = _BY_STATUS.get(
            status, "see the message above and the Salesforce REST API reference for this resource"
        )
    if fields and error_code in ("INVALID_FIELD", "REQUIRED_FIELD_MISSING", "STRING_TOO_LONG"):
        hint = f"fields: {', '.join(fields)}; {hint}"
    return hint


def one_line(message: str) -> str:
    """Salesforce's multi-line SOQL error as one line: the reason, then where.

    Example:
        >>> one_line("\\nSELEC Id FROM Account\\n^\\nERROR at Row:1:Column:1\\nunexpected token: 'SELEC'")
        "unexpected token: 'SELEC' (row 1, column 1)"
    """
    if "\n" not in message:
        return message
    match = _ROW_COLUMN.search(message)
    if match is None:
        return " ".join(line.strip() for line in message.splitlines() if line.strip())
    reason = " ".join(line.strip() for line in message[match.end() :].splitlines() if line.strip())
    where = f"row {match.group(1)}, column {match.group(2)}"
    return f"{reason} ({where})" if reason else where
