"""Safe XML reading for VOEvents.

Notices come from the network, so XML is parsed with :mod:`defusedxml`: no
external entities, no DTD entity expansion (billion laughs), no network access,
and a size limit checked before parsing.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException

from ..errors import NoticeRejected

__all__ = ["MAX_XML_BYTES", "parse_xml", "voevent_params", "local_name"]

#: Largest VOEvent accepted. Real VOEvents are a few kB; 1 MiB leaves room for
#: embedded tables and refuses abuse.
MAX_XML_BYTES = 1 << 20


def local_name(tag: str) -> str:
    """Strip an XML namespace from a tag: ``{ns}What`` → ``What``."""
    return tag.rsplit("}", 1)[-1]


def parse_xml(payload: bytes, max_bytes: int = MAX_XML_BYTES) -> ET.Element:
    """Parse XML bytes safely and return the root element.

    Raises
    ------
    NoticeRejected
        If the payload is too large, forbidden (DTD entities, external
        references) or not well-formed; the message says which.
    """
    if len(payload) > max_bytes:
        raise NoticeRejected(
            f"XML notice of {len(payload)} bytes exceeds the {max_bytes}-byte limit")
    try:
        return DET.fromstring(payload, forbid_dtd=False, forbid_entities=True,
                              forbid_external=True)
    except DefusedXmlException as exc:
        raise NoticeRejected(f"unsafe XML refused: {exc.__class__.__name__}: {exc}") from exc
    except ET.ParseError as exc:
        raise NoticeRejected(f"malformed XML: {exc}") from exc
    except (LookupError, ValueError) as exc:  # <?xml encoding="..."?> Python cannot read
        raise NoticeRejected(f"XML in an encoding that cannot be read: {exc}") from exc


def voevent_params(root: ET.Element) -> dict[str, Any]:
    """All ``<Param>`` values of a VOEvent's ``<What>``, by name, as strings.

    Params nested in ``<Group>`` elements are included under their own name and
    also as ``"group_name.param_name"``.
    """
    params: dict[str, Any] = {}
    what = next((el for el in root if local_name(el.tag) == "What"), None)
    if what is None:
        return params

    def walk(el: ET.Element, prefix: str) -> None:
        for child in el:
            name = local_name(child.tag)
            if name == "Param":
                key = child.get("name")
                if key is None:
                    continue
                value = child.get("value")
                params.setdefault(key, value)
                if prefix:
                    params[f"{prefix}.{key}"] = value
            elif name == "Group":
                walk(child, child.get("name") or child.get("type") or "")

    walk(what, "")
    return params
