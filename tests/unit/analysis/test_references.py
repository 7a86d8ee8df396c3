import pytest

from tmr.analysis.references import code_links, keys_for, normalize, references
from tmr.artifacts.models import ArtifactLink
from tmr.errors import InvalidInput


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("google-bert/bert-base-uncased", "google-bert/bert-base-uncased"),
        ("Google-BERT/BERT-base-uncased", "google-bert/bert-base-uncased"),
        ("https://huggingface.co/acme/base-lm/tree/main", "acme/base-lm"),
        ("https://huggingface.co/datasets/rajpurkar/squad", "rajpurkar/squad"),
        ("https://github.com/openai/whisper.git", "openai/whisper"),
        ("bert-base-uncased", "bert-base-uncased"),
        ("./checkpoints/run-3", None),
        ("/mnt/models/x", None),
        ("", None),
    ],
)
def test_normalize(raw: str, key: str | None) -> None:
    assert normalize(raw) == key


def test_keys_cover_repo_id_short_name_and_given_name() -> None:
    keys = keys_for(
        "My-BERT", "https://huggingface.co/google-bert/bert-base-uncased", "google-bert/bert-base-uncased"
    )
    assert keys == {"my-bert", "google-bert/bert-base-uncased", "bert-base-uncased"}


def test_references_from_card_config_adapter_and_readme() -> None:
    card = {
        "base_model": "acme/base-lm",
        "base_model_relation": "finetune",
        "datasets": ["acme/instruct-data"],
    }
    links = references(
        card, {"_name_or_path": "acme/base-lm"}, None, "Code: https://github.com/acme/training-code"
    )
    assert links == [
        ArtifactLink("acme/base-lm", "fine_tune", "model_card"),
        ArtifactLink("acme/instruct-data", "fine_tuning_dataset", "model_card"),
        ArtifactLink("acme/training-code", "code_repository", "model_card"),
    ]
    adapter = references({}, None, {"base_model_name_or_path": "acme/base-lm-finetuned"})
    assert adapter == [ArtifactLink("acme/base-lm-finetuned", "adapter", "adapter_config_json")]
    assert references({"base_model": ["a/x", "b/y"]}, None, None)[1].key == "b/y"


def test_local_paths_and_missing_metadata_give_no_parents() -> None:
    assert references({}, {"_name_or_path": "./out"}, None) == []
    assert references({}, None, None) == []


@pytest.mark.parametrize("card", [{"base_model": {"name": "x"}}, {"datasets": [1, 2]}, {"base_model": 42}])
def test_malformed_lineage_metadata_is_invalid_input(card: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        references(card, None, None)


def test_code_links_skip_non_repositories() -> None:
    text = (
        "See https://github.com/orgs/acme, https://github.com/acme/tool.git and https://github.com/acme/tool"
    )
    assert code_links(text) == ["https://github.com/acme/tool"]
