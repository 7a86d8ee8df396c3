import pytest

from tests.unit.rating.fixtures import bare_model, good_model, with_readme
from tmr.rating.metrics import category


def test_good_and_bare() -> None:
    assert category.compute(good_model()) == "nlp/text-classification"
    assert category.compute(bare_model()) == "unknown"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"pipeline_tag": "image-classification"}, "vision/image-classification"),
        ({"pipeline_tag": "automatic-speech-recognition"}, "audio/automatic-speech-recognition"),
        ({"pipeline_tag": "text-to-image"}, "multimodal/text-to-image"),
        ({"pipeline_tag": "brand-new-task"}, "other/brand-new-task"),
        ({"tags": ("bert", "fill-mask")}, "nlp/fill-mask"),
        ({"config": {"architectures": ["BertForMaskedLM"]}}, "nlp/fill-mask"),
        ({"config": {"architectures": ["LlamaForCausalLM"]}}, "nlp/text-generation"),
        ({"config": {"architectures": ["ViTForImageClassification"]}}, "vision/image-classification"),
        (
            {"config": {"architectures": ["WhisperForConditionalGeneration"], "model_type": "whisper"}},
            "audio/automatic-speech-recognition",
        ),
        ({"config": {"architectures": ["T5ForConditionalGeneration"]}}, "nlp/text2text-generation"),
        ({"adapter_config": {"task_type": "CAUSAL_LM"}}, "nlp/text-generation"),
        ({"library_name": "sentence-transformers"}, "nlp/sentence-similarity"),
        ({"library_name": "timm"}, "vision/image-classification"),
        ({"library_name": "some-lib"}, "unknown"),
        ({"config": {"architectures": "not-a-list", "model_type": 3}}, "unknown"),
    ],
)
def test_category_from_evidence(changes: dict[str, object], expected: str) -> None:
    assert category.compute(bare_model(**changes)) == expected


def test_explicit_pipeline_tag_wins_over_architecture() -> None:
    evidence = bare_model(pipeline_tag="feature-extraction", config={"architectures": ["BertForMaskedLM"]})
    assert category.compute(evidence) == "nlp/feature-extraction"


def test_card_pipeline_tag_is_read() -> None:
    evidence = with_readme(bare_model(), "---\npipeline_tag: object-detection\n---\n# Detector")
    assert category.compute(evidence) == "vision/object-detection"
