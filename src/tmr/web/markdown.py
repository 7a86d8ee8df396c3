"""READMEs as HTML a page may show: Markdown rendered without raw HTML, then sanitised.

A README is text from whoever published the artifact, so two independent layers stand between it
and the page, and a third behind them:

1. markdown-it (CommonMark, tables, strikethrough) with raw HTML **off**: `<script>` in a README is
   shown as text, and link destinations pass markdown-it's own check (no `javascript:`,
   `vbscript:`, `file:`, `data:`).
2. nh3 (ammonia) with an explicit allow-list: only the tags and attributes Markdown produces,
   no `style`, no event handlers, no ids or classes; URLs only `http`, `https`, `mailto` or
   relative; every link gets `rel="noopener nofollow"`. Whatever layer 1 lets through by mistake
   ends here.
3. The pages' Content Security Policy allows no inline script at all.

The page's outline stays the page's: README headings move down two levels (`#` → `h3`), so a
README's own `h1` never competes with the page's. The card's YAML front matter is metadata the
registry has already parsed; it is not shown as text. Links whose only content is an image
without alternative text (badges) are named after their target, so no link is nameless.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

MAX_MARKDOWN_CHARS = 300_000  # a longer README is cut (at a line end) and says so
MAX_HTML_CHARS = 1_500_000  # rendering that expands past this shows the text instead
HEADING_SHIFT = 2

# The same front matter `tmr.sources.cards` reads: `---` on the first line, YAML, `---`.
_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)

TAGS = frozenset(
    {
        "p", "br", "hr", "h3", "h4", "h5", "h6", "blockquote", "pre", "code", "kbd", "samp",
        "em", "strong", "b", "i", "s", "del", "sub", "sup",
        "ul", "ol", "li", "dl", "dt", "dd",
        "a", "img",
        "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
}
# Removed with everything inside them, not just unwrapped.
DROP_WITH_CONTENT = frozenset(
    {"script", "style", "iframe", "object", "embed", "svg", "math", "template", "noscript", "textarea",
     "select", "title", "frame", "frameset", "applet"}
)  # fmt: skip
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener nofollow"


@dataclass(frozen=True, slots=True)
class RenderedReadme:
    html: Markup
    total_chars: int  # of the README body (front matter excluded)
    shown_chars: int  # how much of it was rendered
    as_text: bool = False  # rendering was too large: shown as preformatted text

    @property
    def truncated(self) -> bool:
        return self.shown_chars < self.total_chars

    @property
    def empty(self) -> bool:
        return self.total_chars == 0 or not str(self.html).strip()


def strip_front_matter(text: str) -> str:
    match = _FRONT_MATTER.match(text)
    return text[match.end() :] if match else text


@cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    return md.enable(["table", "strikethrough"])


def _image_src(value: str) -> str | None:
    """Images load only from absolute http(s) URLs: a relative path would name one of this
    registry's own pages, and `data:` is refused by the scheme list anyway."""
    return value if value.lower().startswith(("https://", "http://")) else None


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return _image_src(value)
    return value


@cache
def _cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(TAGS),
        clean_content_tags=set(DROP_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        attribute_filter=_attribute_filter,
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


def sanitize(html: str) -> str:
    """HTML reduced to the allow-list (layer 2 alone; `render_readme` runs both layers)."""
    return _cleaner().clean(html)


def _has_name(token: Token) -> bool:
    if token.type in ("text", "code_inline"):
        return bool(token.content.strip())
    if token.type == "image":
        return any(child.content.strip() for child in token.children or [])
    return False


def _link_label(href: str) -> str:
    label = re.sub(r"^(?:https?://|mailto:)", "", href).rstrip("/")
    return label or href or "link"


def _name_links(children: list[Token]) -> list[Token]:
    """Give a link with no text (an image with empty alt, or nothing) its target as a name."""
    out: list[Token] = []
    opened: list[int] = []
    for token in children:
        out.append(token)
        if token.type == "link_open":
            opened.append(len(out) - 1)
        elif token.type == "link_close" and opened:
            start = opened.pop()
            inner = out[start + 1 : -1]
            if any(_has_name(t) for t in inner):
                continue
            label = _link_label(str(out[start].attrGet("href") or ""))
            image = next((t for t in inner if t.type == "image"), None)
            if image is not None:
                image.children = [Token("text", "", 0, content=label)]
            else:
                out.insert(len(out) - 1, Token("text", "", 0, content=label))
    return out


def _adjust(tokens: list[Token]) -> list[Token]:
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            level = int(token.tag[1:]) + HEADING_SHIFT
            token.tag = f"h{min(6, level)}"
        elif token.type == "inline" and token.children:
            token.children = _name_links(token.children)
    return tokens


def _cut(body: str) -> str:
    if len(body) <= MAX_MARKDOWN_CHARS:
        return body
    cut = body.rfind("\n", 0, MAX_MARKDOWN_CHARS)
    return body[: cut if cut > 0 else MAX_MARKDOWN_CHARS]


def render_readme(text: str | None) -> RenderedReadme:
    """The README's body as sanitised HTML, ready to place in a page."""
    body = strip_front_matter(text or "")
    total = len(body)
    shown = _cut(body)
    md = _parser()
    rendered = md.renderer.render(_adjust(md.parse(shown)), md.options, {})
    if len(rendered) > MAX_HTML_CHARS:
        # Pathological expansion (e.g. one long reference used thousands of times): the text
        # itself is still worth reading, escaped, and within the same size budget.
        plain = shown[: MAX_HTML_CHARS // 6]
        return RenderedReadme(Markup("<pre>%s</pre>") % plain, total, len(plain), as_text=True)
    return RenderedReadme(Markup(sanitize(rendered)), total, len(shown))  # noqa: S704 - sanitised above
