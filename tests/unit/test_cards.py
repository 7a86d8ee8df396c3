from tmr.sources.cards import card_license, split_card


def test_front_matter_is_parsed_and_body_kept() -> None:
    meta, body, error = split_card("---\nlicense: mit\nbase_model: a/b\n---\n# Title\ntext")
    assert meta == {"license": "mit", "base_model": "a/b"}
    assert body.startswith("# Title")
    assert error is None


def test_broken_yaml_is_reported_not_raised() -> None:
    meta, body, error = split_card("---\nlicense: [mit\n  : :\n---\nbody")
    assert meta == {}
    assert body == "body"
    assert error is not None
    assert "YAML" in error


def test_non_mapping_front_matter_is_an_error() -> None:
    assert split_card("---\n- a\n- b\n---\nx")[2] == "card metadata is not a mapping"


def test_no_front_matter_and_empty_card() -> None:
    assert split_card("# just text") == ({}, "# just text", None)
    assert split_card("") == ({}, "", None)
    assert split_card("---\n---\nbody")[0] == {}


def test_dates_become_strings() -> None:
    meta, _, _ = split_card("---\nreleased: 2024-01-02\n---\n")
    assert meta == {"released": "2024-01-02"}


def test_license_from_card_name_or_tags() -> None:
    assert card_license({"license": "apache-2.0"}) == "apache-2.0"
    assert card_license({"license": ["mit", "apache-2.0"]}) == "mit"
    assert card_license({"license": "other", "license_name": "llama3.2"}) == "llama3.2"
    assert card_license({}, ["license:cc-by-nc-4.0", "bert"]) == "cc-by-nc-4.0"
    assert card_license({}, ["bert"]) is None
