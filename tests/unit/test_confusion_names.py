"""How a name imitates another: each category with its evidence, and the hard negatives."""

from __future__ import annotations

import pytest

from tmr.confusion.names import MAX_NAME_LENGTH, Category, NameIndex, compare, find_imitations, skeleton

BERT = "google-bert/bert-base-uncased"


@pytest.mark.parametrize(
    ("suspect", "target", "category", "evidence"),
    [
        ("acme/bert-base-uncsed", BERT, Category.TYPO, "1 edit(s): 'a' missing"),
        ("acme/bert-base-uncaased", BERT, Category.TYPO, "'a' doubled"),
        ("acme/bert-base-uncaswd", BERT, Category.TYPO, "'e'→'w' (adjacent key)"),
        ("acme/bert-base-uncasde", BERT, Category.TYPO, "adjacent characters swapped"),
        ("acme/bert-b\u0430se-uncased", BERT, Category.HOMOGLYPH, "skeleton 'bert-base-uncased'"),
        ("acme/rnistral-7b", "mistralai/mistral-7b", Category.HOMOGLYPH, "skeleton 'rnistral-7b'"),
        ("acme/bert_base_uncased", BERT, Category.DELIMITER, "other delimiters"),
        ("acme/bertbaseuncased", BERT, Category.DELIMITER, "delimiters removed"),
        ("acme/bert-base-uncased-hf", BERT, Category.AFFIX, "suffix 'hf'"),
        ("acme/official-bert-base-uncased", BERT, Category.AFFIX, "prefix 'official'"),
        ("acme/uncased-base-bert", BERT, Category.REORDER, "reordered"),
        ("googIe-bert/bert-base-uncased", BERT, Category.NAMESPACE, "look-alike organisation 'googIe-bert'"),
        ("google/bert-base-uncased", BERT, Category.NAMESPACE, "under organisation 'google'"),
        ("bert-base-uncased", BERT, Category.NAMESPACE, "under no organisation"),
        ("acme/BERT-Base-Uncased", BERT, Category.CASE, "only in case"),
        ("acme/Llama-3-7b-hf", "meta-llama/Llama-2-7b-hf", Category.VERSION, "numbers changed"),
        ("acme/whisper-large-v4", "openai/whisper-large-v3", Category.VERSION, "numbers changed"),
    ],
)
def test_each_category_is_detected_with_its_evidence(
    suspect: str, target: str, category: Category, evidence: str
) -> None:
    match = compare(suspect, target)
    assert match is not None
    assert category in match.categories
    assert any(evidence in i.evidence for i in match.imitations), match.imitations
    assert 0 < match.similarity <= 1


def test_a_homoglyph_organisation_is_both_namespace_and_homoglyph() -> None:
    match = compare("googIe-bert/bert-base-uncased", BERT)
    assert match is not None
    assert match.categories == (Category.NAMESPACE, Category.HOMOGLYPH)
    assert match.similarity == 1.0


@pytest.mark.parametrize(
    ("suspect", "target"),
    [
        ("google-bert/bert-base-cased", BERT),
        ("google-bert/bert-large-uncased", BERT),
        ("meta-llama/Llama-2-13b-hf", "meta-llama/Llama-2-7b-hf"),
        ("meta-llama/Llama-2-7b-chat-hf", "meta-llama/Llama-2-7b-hf"),
        ("mistralai/Mistral-7B-Instruct-v0.1", "mistralai/Mistral-7B-Instruct-v0.2"),
        ("google/gemma-7b", "google/gemma-2b"),
        ("google/flan-t5-large", "google/flan-t5-base"),
        ("openai-community/gpt2-xl", "openai-community/gpt2"),
        ("acme/invoice-parser", BERT),
        (BERT, BERT),
    ],
)
def test_legitimately_similar_names_are_not_imitations(suspect: str, target: str) -> None:
    assert compare(suspect, target) is None


def test_skeleton_maps_confusables_to_one_prototype() -> None:
    assert skeleton("g\u043e\u043egle") == skeleton("google")  # Cyrillic o
    assert skeleton("googIe") == skeleton("google")  # capital I for l
    assert skeleton("rn") == skeleton("m")
    assert skeleton("bert") != skeleton("bart")


def test_find_imitations_names_the_closest_target_first() -> None:
    targets = ["google-bert/bert-base-cased", BERT, "openai-community/gpt2"]
    matches = find_imitations("acme/bert-base-uncased-hf", targets)
    assert [m.target for m in matches][:1] == [BERT]
    assert find_imitations("acme/totally-different", targets) == []


@pytest.mark.parametrize(
    "name",
    ["", "/", "org/", "/name", "\u200b\u202e", "🦙/🦙🦙", "a" * 10_000, "x/" + "-_." * 5_000, "\x00/\udcff"],
)
def test_odd_names_are_handled_without_error(name: str) -> None:
    for target in (BERT, name, "x/" + "b" * 10_000):
        match = compare(name, target)
        assert match is None or match.similarity <= 1
    find_imitations(name, [BERT, "a" * 10_000] * 50)


def test_long_names_are_cut_before_comparing() -> None:
    """What bounds the work: no name longer than MAX_NAME_LENGTH reaches the distances."""
    long_suspect = "acme/" + "bert-base-uncased" * 100
    match = compare(long_suspect, "acme/" + "bert-base-uncased" * 100 + "x")
    assert match is None  # equal once both are cut to MAX_NAME_LENGTH
    assert len(long_suspect) > MAX_NAME_LENGTH


def test_comparison_is_deterministic() -> None:
    first = [compare(s, BERT) for s in ("acme/bert-base-uncsed", "googIe-bert/bert-base-uncased")]
    assert first == [compare(s, BERT) for s in ("acme/bert-base-uncsed", "googIe-bert/bert-base-uncased")]


def _crowd(n: int = 400) -> list[str]:
    """Many names of the same few words: the ratio scan alone would keep only the closest 25."""
    words = ["bert", "base", "uncased", "large", "tiny", "chat", "vision", "coder"]
    return [f"team{i}/{'-'.join(words[(i + k) % len(words)] for k in range(3))}-{i}" for i in range(n)]


def test_candidates_are_found_in_a_crowd_of_similar_names() -> None:
    index = NameIndex([BERT, *_crowd(), "openai-community/gpt2"])
    cases = {
        "acme/free-official-hf-bert-base-uncased": Category.AFFIX,  # three words added
        "acme/uncased-bert-base": Category.REORDER,
        "acme/gtp2": Category.TYPO,  # a swap in a short name
        "acme/BERT-base-uncased": Category.CASE,
    }
    for suspect, category in cases.items():
        [match] = index.find(suspect, limit=1)
        assert category in match.categories, suspect


def test_a_dropped_name_is_no_longer_a_target() -> None:
    index = NameIndex([BERT, "acme/bert-base-uncsed"])
    assert [m.target for m in index.find("evil/bert-base-uncsed")] == ["acme/bert-base-uncsed", BERT]
    index.drop("acme/bert-base-uncsed")
    assert [m.target for m in index.find("evil/bert-base-uncsed")] == [BERT]
    index.drop("never/indexed")  # nothing to drop: no error
    assert [m.target for m in index.find("evil/bert-base-uncsed", upto=0)] == []
