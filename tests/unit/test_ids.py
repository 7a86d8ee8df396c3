from tmr.artifacts.ids import is_valid_id, new_artifact_id


def test_ids_are_unique_and_match_the_contract_pattern() -> None:
    ids = [new_artifact_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert all(is_valid_id(i) for i in ids)


def test_ids_grow_with_time_so_they_are_never_reused() -> None:
    first = new_artifact_id()
    later = new_artifact_id()
    assert int(later[:-4]) >= int(first[:-4])


def test_invalid_ids() -> None:
    assert not is_valid_id("../etc")
    assert not is_valid_id("a b")
    assert not is_valid_id("")
    assert not is_valid_id("x" * 65)
