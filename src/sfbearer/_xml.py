"""XML the project reads from files it did not write (metadata, package manifests): refused
when it declares a DTD or an entity, before any parse that could expand one.

Example:
    >>> declares_dtd(b'<?xml version="1.0"?><Package/>')
    False
    >>> declares_dtd(b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')
    True
"""

from __future__ import annotations

import re
from xml.parsers import expat

__all__ = ["declares_dtd"]

# Fast path for the usual spellings; the parser below also sees UTF-16 and other encodings.
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class _DeclaresDtd(Exception):
    pass


def declares_dtd(data: bytes) -> bool:
    """Whether the document declares a DTD or an entity, as the XML parser itself sees it.

    A document the parser cannot read is left to the real parse, which reports it.
    """
    if _DTD.search(data):
        return True
    parser = expat.ParserCreate()

    def refuse(*_: object) -> None:
        raise _DeclaresDtd

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(data, True)
    except _DeclaresDtd:
        return True
    except expat.ExpatError:
        return False
    return False
