"""Reading rendered HTML in tests: its elements and text, and the sanitiser's promise checked on
any fragment (only allow-listed tags and attributes, only safe URL schemes)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from tmr.web.markdown import ATTRIBUTES, TAGS


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def elements(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.elements


def text_of(html: str) -> str:
    parser = _Elements()
    parser.feed(html)
    return "".join(parser.text)


def assert_harmless(html: str) -> None:
    """Only allow-listed tags and attributes; URLs only http(s), mailto or relative."""
    for tag, attrs in elements(html):
        assert tag in TAGS, (tag, html)
        for name, value in attrs.items():
            assert name in ATTRIBUTES.get(tag, set()) | {"rel"}, (tag, name, html)
            assert not name.startswith("on"), html
            if name in ("href", "src"):
                url = re.sub(r"[\x00-\x20]", "", value).lower()  # as browsers read it
                scheme = url.split(":", 1)[0] if ":" in url.split("/", 1)[0] else ""
                assert scheme in ("", "http", "https", "mailto"), (value, html)
