"""Merging a package manifest into the one a project has: comments before the root survive,
and a manifest outside the metadata namespace is refused with the reason."""

from __future__ import annotations

import pytest

from sfbearer._exceptions import ConfigError
from sfbearer._package_merge import METADATA_NAMESPACE, merge_package_xml


def package(member: str, prolog: str = "") -> bytes:
    return (
        f'{prolog}<Package xmlns="{METADATA_NAMESPACE}"><types><members>{member}</members>'
        "<name>ExternalClientApplication</name></types><version>66.0</version></Package>"
    ).encode()


def test_comments_before_the_root_are_kept() -> None:
    prolog = '<?xml version="1.0"?>\n<!-- the Acme project -->\n<!-- deploy with sf -->\n'
    merged = merge_package_xml(package("A", prolog), package("B")).decode()
    lines = merged.splitlines()
    assert lines[:3] == ['<?xml version="1.0" encoding="UTF-8"?>', "<!-- the Acme project -->",
                         "<!-- deploy with sf -->"]  # fmt: skip
    assert merged.count("<members>") == 2


def test_a_manifest_without_the_namespace_says_so() -> None:
    with pytest.raises(ConfigError, match=f'lacks xmlns="{METADATA_NAMESPACE}"'):
        merge_package_xml(b"<Package><version>60.0</version></Package>", package("B"))
    with pytest.raises(ConfigError, match="its root is 'Other', not Package"):
        merge_package_xml(f'<Other xmlns="{METADATA_NAMESPACE}"/>'.encode(), package("B"))
