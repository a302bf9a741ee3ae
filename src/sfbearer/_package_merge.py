"""Merge a package manifest (``package.xml``) into the one a project already has.

A second External Client App written into the same directory must not drop the first from
the deploy manifest: the existing members stay, the new ones are added.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from sfbearer._exceptions import ConfigError
from sfbearer._xml import declares_dtd

__all__ = ["MAX_PACKAGE_XML_BYTES", "METADATA_NAMESPACE", "merge_package_xml"]

METADATA_NAMESPACE = "http://soap.sforce.com/2006/04/metadata"
MAX_PACKAGE_XML_BYTES = 4 * 1024 * 1024


def _version_key(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.strip().split("."))
    except ValueError:
        return (0,)


def merge_package_xml(existing: bytes, added: bytes, *, source: str = "package.xml") -> bytes:
    """``existing`` with every member of ``added`` put in (nothing removed, nothing repeated).

    Types and members already listed stay where they are (other components of the project
    included); new members go after them. The version is the later of the two, so a manifest
    older than 60.0 cannot hide the certificate field.

    Raises:
        ConfigError: ``existing`` is not a ``Package`` manifest in the metadata namespace.

    Example:
        >>> def package(name):
        ...     return (f'<Package xmlns="{METADATA_NAMESPACE}"><types><members>{name}</members>'
        ...             '<name>ExternalClientApplication</name></types>'
        ...             '<version>66.0</version></Package>').encode()
        >>> merged = merge_package_xml(package("Acme_Sync"), package("Acme_Sync_2")).decode()
        >>> print(merged)  # doctest: +NORMALIZE_WHITESPACE
        <?xml version="1.0" encoding="UTF-8"?>
        <Package xmlns="http://soap.sforce.com/2006/04/metadata">
            <types>
                <members>Acme_Sync</members>
                <members>Acme_Sync_2</members>
                <name>ExternalClientApplication</name>
            </types>
            <version>66.0</version>
        </Package>
    """
    ns = f"{{{METADATA_NAMESPACE}}}"
    if len(existing) > MAX_PACKAGE_XML_BYTES or declares_dtd(existing):
        raise ConfigError(
            f"{source} is too large or declares a DTD; a package manifest needs neither",
            hint="fix it, or pass --force to replace it with a manifest of this app only",
        )
    try:
        # The standard parser is safe here: DTDs were refused above, so there are no
        # entities to expand and nothing external to fetch.
        parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))  # noqa: S314
        root = ET.fromstring(existing, parser=parser)  # noqa: S314
    except ET.ParseError as exc:
        raise ConfigError(
            f"{source} is not well-formed XML ({exc})",
            hint="fix it, or pass --force to replace it with a manifest of this app only",
        ) from None
    if root.tag != f"{ns}Package":
        found = root.tag.rsplit("}", 1)[-1]
        reason = (
            f'its Package element lacks xmlns="{METADATA_NAMESPACE}"'
            if found == "Package"
            else f"its root is {found!r}, not Package"
        )
        raise ConfigError(
            f"{source} is not a package manifest ({reason})",
            hint="fix it, or pass --force to replace it with a manifest of this app only",
        )
    new_root = ET.fromstring(added)  # noqa: S314 - ours, from _package_xml
    by_name: dict[str, ET.Element] = {}
    for types in root.findall(f"{ns}types"):
        by_name.setdefault((types.findtext(f"{ns}name") or "").strip(), types)
    version = root.find(f"{ns}version")
    for types in new_root.findall(f"{ns}types"):
        type_name = (types.findtext(f"{ns}name") or "").strip()
        target = by_name.get(type_name)
        if target is None:
            target = ET.Element(f"{ns}types")
            ET.SubElement(target, f"{ns}name").text = type_name
            # before <version>, where Salesforce puts types
            index = list(root).index(version) if version is not None else len(root)
            root.insert(index, target)
            by_name[type_name] = target
        have = {(m.text or "").strip() for m in target.findall(f"{ns}members")}
        for member in types.findall(f"{ns}members"):
            text = (member.text or "").strip()
            if text in have:
                continue
            element = ET.Element(f"{ns}members")
            element.text = text
            # members before <name>, as Salesforce writes them
            name_el = target.find(f"{ns}name")
            index = list(target).index(name_el) if name_el is not None else len(target)
            target.insert(index, element)
            have.add(text)
    new_version = new_root.findtext(f"{ns}version")
    if new_version:
        if version is None:
            version = ET.SubElement(root, f"{ns}version")
            version.text = new_version
        elif _version_key(version.text or "") < _version_key(new_version):
            version.text = new_version
    ET.register_namespace("", METADATA_NAMESPACE)
    for element in root.iter():  # re-indent what was added; keep the rest as it was
        if element.tail is not None and not element.tail.strip():
            element.tail = None
        if len(element) and element.text is not None and not element.text.strip():
            element.text = None
    ET.indent(root, space="    ")
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + _leading_comments(existing) + body + b"\n"


def _leading_comments(document: bytes) -> bytes:
    """The comments before the root element (the parser keeps only those inside it), one a
    line, so a merge keeps a project's header comment."""
    start = re.search(rb"<(?![?!])", document)
    prolog = document[: start.start()] if start else b""
    return b"".join(c + b"\n" for c in re.findall(rb"<!--.*?-->", prolog, re.DOTALL))
