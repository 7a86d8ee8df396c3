"""The visibility rule: every check names a principal, and none of them means "no check"."""

import inspect

import pytest

from tmr.accounts.models import SYSTEM, Principal, User
from tmr.accounts.permissions import can_read, scope_for
from tmr.artifacts.models import Artifact, ArtifactType, Visibility

PRIVATE = Artifact(
    id="1",
    type=ArtifactType.MODEL,
    name="acme/secret",
    url="upload:sha256:" + "1" * 64,
    source="upload",
    visibility=Visibility.PRIVATE,
    created_by="alice",
)
PUBLIC = Artifact(id="2", type=ArtifactType.MODEL, name="bert", url="u", source="huggingface_model")


def test_private_artifacts_are_their_owners_and_admins() -> None:
    alice, bob = Principal("alice"), Principal("bob")
    assert can_read(alice, PRIVATE)
    assert not can_read(bob, PRIVATE)
    assert can_read(Principal("root", is_admin=True), PRIVATE)
    assert can_read(bob, PUBLIC)
    assert scope_for(bob).viewer == "bob"
    assert scope_for(bob, versioned=True).versioned
    assert scope_for(Principal("root", is_admin=True)).viewer is None


def test_the_system_principal_is_explicit_and_is_nobody_s_account() -> None:
    assert SYSTEM.is_system
    assert SYSTEM.is_admin
    assert can_read(SYSTEM, PRIVATE)
    assert scope_for(SYSTEM).viewer is None
    assert not Principal.of(User(SYSTEM.name, True)).is_system  # an account of that name is a user


@pytest.mark.parametrize("check", [can_read, scope_for])
def test_a_principal_cannot_be_left_out(check: object) -> None:
    parameter = next(iter(inspect.signature(check).parameters.values()))  # type: ignore[arg-type]
    assert parameter.default is inspect.Parameter.empty
    with pytest.raises(TypeError):
        check()  # type: ignore[operator]


def test_artifacts_are_values() -> None:
    with pytest.raises(AttributeError):
        PUBLIC.name = "changed"  # type: ignore[misc]
    listed = Artifact(id="3", type=ArtifactType.CODE, name="c", url="u", source="github", notes=["n"])
    assert listed.notes == ("n",)
    assert isinstance(listed.keys, frozenset)
