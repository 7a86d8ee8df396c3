import dataclasses

import pytest

from tests.unit.rating.fixtures import GOOD_BODY, GOOD_META, bare_model, card_text, good_model, with_readme
from tmr.rating.evidence import FileFact
from tmr.rating.metrics import ramp_up_time


def test_good_card_ramps_up_faster_than_bare() -> None:
    assert ramp_up_time.compute(good_model()) > 0.85
    assert ramp_up_time.compute(bare_model()) == 0.0


def test_each_signal_counts() -> None:
    good = good_model()
    base = ramp_up_time.compute(good)
    no_code = GOOD_BODY.replace("```python", "```text")
    variants = {
        "no usage code": with_readme(good, card_text(GOOD_META, no_code)),
        "no config": dataclasses.replace(good, config=None),
        "no library": dataclasses.replace(good, library_name=None, card={**good.card, "library_name": None}),
        "no tokenizer": dataclasses.replace(
            good, files=tuple(f for f in good.files if f.kind != "tokenizer")
        ),
        "no metadata": with_readme(good, card_text(None, GOOD_BODY)),
        "short card": with_readme(good, card_text(GOOD_META, GOOD_BODY[:600])),
    }
    for label, evidence in variants.items():
        assert ramp_up_time.compute(evidence) < base, label


def test_longer_card_with_more_sections_scores_higher() -> None:
    bare = bare_model()
    one = with_readme(bare, "# Usage\nCall it.\n")
    two = with_readme(bare, "# Usage\nCall it.\n## Limitations\nIt fails on long inputs.\n")
    three = with_readme(bare, "# Usage\nCall it.\n## Limitations\nIt fails on long inputs.\n" + "word " * 500)
    scores = [ramp_up_time.compute(e) for e in (bare, one, two, three)]
    assert scores == sorted(scores)
    assert len(set(scores)) == 4


def test_runnable_example_beats_any_snippet() -> None:
    bare = bare_model()
    snippet = with_readme(bare, "```python\nimport torch\n```")
    loader = with_readme(bare, "```python\nmodel = AutoModel.from_pretrained('x')\n```")
    assert ramp_up_time.components(snippet)["usage_example"] == pytest.approx(0.4)
    assert ramp_up_time.components(loader)["usage_example"] == pytest.approx(1.0)


def test_tokenizer_only_matters_for_text_models() -> None:
    vision = bare_model(pipeline_tag="image-classification", config={"image_size": 224})
    text = bare_model(pipeline_tag="fill-mask", config={"vocab_size": 100})
    assert ramp_up_time.components(vision)["tokenizer"] is None
    assert ramp_up_time.components(text)["tokenizer"] == 0.0
    with_tok = dataclasses.replace(text, files=(FileFact("tokenizer.json", 10, "tokenizer"),))
    assert ramp_up_time.compute(with_tok) > ramp_up_time.compute(text)
    # No tokenizer does not mark an image model down.
    assert ramp_up_time.compute(vision) == ramp_up_time.compute(
        dataclasses.replace(vision, pipeline_tag=None)
    )


def test_broken_card_keeps_its_body() -> None:
    broken = with_readme(bare_model(), "---\nlicense: [mit\n  : :\n---\n" + GOOD_BODY)
    assert broken.card == {}
    assert broken.card_error is not None
    score = ramp_up_time.compute(broken)
    assert 0.3 < score < ramp_up_time.compute(good_model())
    assert ramp_up_time.components(broken)["metadata"] == 0.0
