"""GeoReport v2 documents in XML and JSON, and the spec's error document.

A document is plain data: dicts for elements with named children, lists for
the spec's list elements (<services>, <service_requests>, <errors>,
<attributes>, <values>), whose items take the names below. The JSON is the
spec's mapping of the XML (its "Spark convention"): a list element becomes an
array of its items, and an empty element is null.
"""

import json
import re
import xml.etree.ElementTree as ET

from django.http import HttpResponse

XML = "xml"
JSON = "json"
CONTENT_TYPES = {XML: "text/xml; charset=utf-8", JSON: "application/json; charset=utf-8"}
ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
}
_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'
# Characters XML 1.0 cannot carry at all, even escaped (control characters).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class Open311Error(Exception):
    """An answer other than success: an HTTP status and French descriptions."""

    def __init__(self, status: int, *descriptions: str):
        super().__init__(*descriptions)
        self.status = status
        self.descriptions = descriptions or ("Requête invalide.",)


def format_of(name: str) -> str | None:
    """"json" → JSON; anything else that is not "xml" is not served."""
    name = (name or "").lower()
    return name if name in CONTENT_TYPES else None


def _element(name: str, value) -> ET.Element:
    element = ET.Element(name)
    if isinstance(value, dict):
        for child, child_value in value.items():
            element.append(_element(child, child_value))
    elif isinstance(value, list):
        for item in value:
            element.append(_element(ITEM_NAMES[name], item))
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)
    return element


def _clean(value):
    """Text without the characters XML cannot carry, in both formats alike."""
    if isinstance(value, str):
        return _NOT_XML.sub("", value)
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clean(item) for item in value]
    return value


def encode(fmt: str, root: str, value) -> bytes:
    value = _clean(value)
    if fmt == JSON:
        return json.dumps(value, ensure_ascii=False).encode()
    return (_DECLARATION + ET.tostring(_element(root, value), encoding="unicode")).encode()


def document(fmt: str, root: str, value, *, status: int = 200) -> HttpResponse:
    return HttpResponse(encode(fmt, root, value), status=status, content_type=CONTENT_TYPES[fmt])


def errors(fmt: str, status: int, *descriptions: str) -> HttpResponse:
    """The spec's error document; the code of each error is the HTTP status."""
    return document(
        fmt, "errors", [{"code": status, "description": text} for text in descriptions], status=status
    )
