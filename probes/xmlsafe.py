"""Hardened XML parsing for replies of untrusted devices (ONVIF SOAP).

A camera's reply is hostile until proven otherwise, so this parser

* refuses any document type declaration (``<!DOCTYPE``): no DTD, hence no entity
  declarations, no entity expansion ("billion laughs", quadratic blow-up) and no
  external entities or DTDs (nothing is ever fetched or read from disk);
* refuses documents larger than a size cap, nested deeper than a depth cap or with
  more elements than an element cap, and works in time linear in the document (text
  pieces are joined once per element);
* checks all this in expat's own handlers (not by scanning bytes), so it holds in
  any encoding expat accepts;
* turns every parse error into :class:`XmlError`.

It uses expat directly (no DOM, no ``xml.etree`` parser wrapper) and builds a small
tree of :class:`Node` objects with namespace-qualified names, which is all a SOAP
client needs.
"""

from __future__ import annotations

import xml.parsers.expat
from collections.abc import Iterator
from typing import NoReturn

DEFAULT_MAX_BYTES = 256 * 1024
DEFAULT_MAX_DEPTH = 64
DEFAULT_MAX_ELEMENTS = 10_000


class XmlError(ValueError):
    """The document is not well-formed, is too large, or uses a forbidden construct."""


class Node:
    """One element: namespace URI, local name, attributes, text and children."""

    __slots__ = ("ns", "name", "attrs", "text", "children")

    def __init__(self, ns: str, name: str, attrs: dict[str, str]) -> None:
        self.ns = ns
        self.name = name
        self.attrs = attrs
        self.text = ""
        self.children: list[Node] = []

    def __repr__(self) -> str:
        return f"Node({{{self.ns}}}{self.name}, {len(self.children)} children)"

    def child(self, name: str, ns: str | None = None) -> Node | None:
        """The first direct child with this local name (and namespace, when given)."""
        for c in self.children:
            if c.name == name and (ns is None or c.ns == ns):
                return c
        return None

    def iter(self) -> Iterator[Node]:
        """This node and all its descendants, depth first, in document order."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def find(self, name: str, ns: str | None = None) -> Node | None:
        """The first element (this one or a descendant) with this local name."""
        for node in self.iter():
            if node.name == name and (ns is None or node.ns == ns):
                return node
        return None

    def path(self, *names: str) -> Node | None:
        """Follow direct children by local name; None when a step is missing."""
        node: Node | None = self
        for name in names:
            if node is None:
                return None
            node = node.child(name)
        return node

    def text_of(self, *names: str) -> str | None:
        """Stripped text at a child path, or None when the path is missing."""
        node = self.path(*names)
        return None if node is None else node.text.strip()


def _forbidden(what: str) -> NoReturn:
    raise XmlError(f"forbidden XML construct: {what}")


class _Builder:
    """Builds the tree from expat's events. A node's text is collected in pieces and joined
    once at its end tag, so text split by many children costs linear time, not quadratic."""

    __slots__ = ("root", "stack", "texts", "max_depth", "max_elements", "count")

    def __init__(self, max_depth: int, max_elements: int) -> None:
        self.root: Node | None = None
        self.stack: list[Node] = []
        self.texts: list[list[str]] = []  # text pieces of each open node
        self.max_depth = max_depth
        self.max_elements = max_elements
        self.count = 0

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        ns, sep, name = tag.rpartition("\x01")
        node = Node(ns, name if sep else tag, attrs)
        self.count += 1
        if self.count > self.max_elements:
            raise XmlError(f"more than {self.max_elements} elements")
        stack = self.stack
        if stack:
            stack[-1].children.append(node)
        else:
            self.root = node
        stack.append(node)
        self.texts.append([])
        if len(stack) > self.max_depth:
            raise XmlError(f"nested deeper than {self.max_depth} levels")

    def end(self, tag: str) -> None:
        node = self.stack.pop()
        pieces = self.texts.pop()
        if pieces:
            node.text = pieces[0] if len(pieces) == 1 else "".join(pieces)

    def data(self, text: str) -> None:
        if self.texts:
            self.texts[-1].append(text)


def _doctype(*_: object) -> NoReturn:
    _forbidden("document type declaration (DTD)")


def _entity_decl(*_: object) -> NoReturn:
    _forbidden("entity declaration")


def _external_ref(*_: object) -> NoReturn:
    _forbidden("external entity reference")


def parse(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_depth: int = DEFAULT_MAX_DEPTH,
          max_elements: int = DEFAULT_MAX_ELEMENTS) -> Node:
    """Parse *data* into a :class:`Node` tree; raise :class:`XmlError` on anything unsafe."""
    if len(data) > max_bytes:
        raise XmlError(f"document of {len(data)} bytes exceeds the cap of {max_bytes}")
    # Forced UTF-8 overrides the document's own encoding declaration; \x01 separates the
    # namespace URI from the local name (it cannot occur in either).
    parser = xml.parsers.expat.ParserCreate("utf-8", "\x01")
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    parser.ordered_attributes = False
    builder = _Builder(max_depth, max_elements)
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = _doctype
    parser.EntityDeclHandler = _entity_decl
    parser.UnparsedEntityDeclHandler = _entity_decl
    parser.ExternalEntityRefHandler = _external_ref
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise XmlError(f"malformed XML: {xml.parsers.expat.ErrorString(exc.code)} "
                       f"at line {exc.lineno}, column {exc.offset}") from None
    except RecursionError:  # pragma: no cover - the depth cap comes first
        raise XmlError("nested too deeply") from None
    if builder.root is None:
        raise XmlError("empty document")
    return builder.root
