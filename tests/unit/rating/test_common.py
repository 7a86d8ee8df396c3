import math

import pytest

from tmr.rating.metrics.common import as_list, card_body, clamp01, log_scale, read_card, weighted


def test_clamp_and_nan() -> None:
    assert clamp01(-0.5) == 0.0
    assert clamp01(1.5) == 1.0
    assert clamp01(0.25) == 0.25
    assert clamp01(math.nan) == 0.0


def test_log_scale_is_monotonic_and_saturates() -> None:
    values = [log_scale(x, 1000) for x in (0, 1, 10, 100, 999, 1000, 10**6)]
    assert values[0] == 0.0
    assert values == sorted(values)
    assert values[1] < values[2] < values[3] < values[4] < 1.0
    assert values[5] == values[6] == 1.0
    assert log_scale(-5, 10) == 0.0


def test_weighted_renormalises_over_applicable_parts() -> None:
    weights = {"a": 0.75, "b": 0.25}
    assert weighted({"a": 1.0, "b": 0.0}, weights) == pytest.approx(0.75)
    assert weighted({"a": 1.0, "b": None}, weights) == pytest.approx(1.0)
    assert weighted({"a": 0.2, "b": None}, weights) == pytest.approx(0.2)
    assert weighted({"a": None, "b": None}, weights) == 0.0


def test_as_list() -> None:
    assert as_list(None) == []
    assert as_list("x") == ["x"]
    assert as_list(["a", "", None, "b"]) == ["a", "b"]


def test_front_matter_is_not_body() -> None:
    assert card_body("---\nlicense: mit\n---\n# Title\n") == "# Title\n"
    assert card_body("# Only body") == "# Only body"


def test_read_card_splits_prose_headings_and_code() -> None:
    card = read_card(
        "---\na: 1\n---\n# Title\nSome words here.\n**Usage**\n```python\n# not a heading\nx = 1\n```\n"
        "~~~\nunclosed code\n"
    )
    assert card.headings == ("title", "usage")
    assert [b.language for b in card.code_blocks] == ["python", ""]
    assert card.code_blocks[0].code == "# not a heading\nx = 1"
    assert card.code_blocks[1].code == "unclosed code"
    assert card.words == 6  # "# Title", "Some words here.", "**Usage**"
    assert card.has_section(("usage",))
    assert not card.has_section(("training",))


def test_links_exclude_code_and_trailing_punctuation() -> None:
    card = read_card("See https://arxiv.org/abs/1.2, and (https://x.org/docs).\n```\nhttps://in.code\n```")
    assert card.links() == {"https://arxiv.org/abs/1.2", "https://x.org/docs"}
