"""The hardened XML parser: well-formed SOAP passes, DTDs, entities, bombs and oversize fail."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from probes.xmlsafe import XmlError, parse

SOAP = "http://www.w3.org/2003/05/soap-envelope"


def test_namespaces_text_and_navigation() -> None:
    doc = (f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{SOAP}" xmlns:t="urn:t">'
           '<s:Body><t:R a="1"><t:V>  A &amp; B &#x41;<![CDATA[<x>]]></t:V><!-- note --><t:W/>'
           "</t:R></s:Body></s:Envelope>").encode()
    root = parse(doc)
    assert (root.ns, root.name) == (SOAP, "Envelope")
    r = root.path("Body", "R")
    assert r is not None and r.ns == "urn:t" and r.attrs == {"a": "1"}
    assert r.text_of("V") == "A & B A<x>"
    assert root.find("W") is not None and root.find("W", ns="urn:other") is None
    assert root.text_of("Body", "Missing") is None
    assert [n.name for n in root.iter()] == ["Envelope", "Body", "R", "V", "W"]


@pytest.mark.parametrize("doc", [
    # billion laughs: 10^9 "lol"s if expanded
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "lol">'
    + b"".join(b'<!ENTITY %c "%s">' % (98 + i, (b"&%c;" % (97 + i)) * 10) for i in range(9))
    + b"]><r>&j;</r>",
    # external entity (would read a local file)
    b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
    # external DTD (would be fetched)
    b'<!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd"><r/>',
    # parameter entities
    b'<!DOCTYPE r [<!ENTITY % p "x"> %p;]><r/>',
    # a harmless-looking internal subset is still a DTD
    b"<!DOCTYPE r><r/>",
    # the same in UTF-16: checks are in the parser, not on bytes
    '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>'
    .encode("utf-16"),
])
def test_dtds_rejected_without_expansion(doc: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises(XmlError, match="forbidden XML construct"):
        parse(doc)
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("doc,needle", [
    (b"", "no element found"),
    (b"garbage", "syntax error"),
    (b"<a>&undefined;</a>", "undefined entity"),
    (b"<a><b></a>", "mismatched tag"),
    (b"<a/><b/>", "junk after document element"),
    (b"<a>\xff\xfe</a>", "not well-formed"),
])
def test_malformed(doc: bytes, needle: str) -> None:
    with pytest.raises(XmlError, match=needle):
        parse(doc)


def test_size_cap() -> None:
    doc = b"<a>" + b"x" * 1000 + b"</a>"
    assert parse(doc, max_bytes=len(doc)).text == "x" * 1000
    with pytest.raises(XmlError, match="exceeds the cap"):
        parse(doc, max_bytes=len(doc) - 1)


def test_depth_cap() -> None:
    assert parse(b"<a>" * 10 + b"</a>" * 10, max_depth=10).name == "a"
    with pytest.raises(XmlError, match="deeper than 10"):
        parse(b"<a>" * 11 + b"</a>" * 11, max_depth=10)


def test_element_cap() -> None:
    assert len(parse(b"<r>" + b"<e/>" * 99 + b"</r>", max_elements=100).children) == 99
    with pytest.raises(XmlError, match="more than 100 elements"):
        parse(b"<r>" + b"<e/>" * 100 + b"</r>", max_elements=100)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(alphabet="<>/!&;=\"' abx:DOCTYPE[]%", max_size=80)
       .map(str.encode))
def test_anything_is_a_tree_or_xml_error(data: bytes) -> None:
    try:
        parse(data)
    except XmlError:
        pass
