"""Who may see what: the one place the visibility rule lives.

Public artifacts (from public upstreams) are for every user. Private ones (uploads, the company's
own) are for their owner and for admins; to anyone else they do not exist (404, never 403), so a
listing or an error cannot reveal a private model's name or id.
"""

from __future__ import annotations

from tmr.accounts.models import User
from tmr.artifacts.interfaces import Scope
from tmr.artifacts.models import Artifact, Visibility


def can_read(user: User | None, artifact: Artifact) -> bool:
    """None is the registry itself (internal reads), which sees everything."""
    if user is None or user.is_admin or artifact.visibility is Visibility.PUBLIC:
        return True
    return artifact.created_by == user.name


def scope_for(user: User | None, *, versioned: bool = False) -> Scope:
    """The listing scope of a user: admins (and the registry) see every artifact."""
    viewer = None if user is None or user.is_admin else user.name
    return Scope(viewer=viewer, versioned=versioned)
