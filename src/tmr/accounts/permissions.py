"""Who may see what: the one place the visibility rule lives.

Public artifacts (from public upstreams) are for every user. Private ones (uploads, the company's
own) are for their owner and for admins; to anyone else they do not exist (404, never 403), so a
listing or an error cannot reveal a private model's name or id. Every check names its principal:
the registry's own work passes `SYSTEM` explicitly.
"""

from __future__ import annotations

from tmr.accounts.models import Principal
from tmr.artifacts.interfaces import Scope
from tmr.artifacts.models import Artifact, Visibility


def can_read(principal: Principal, artifact: Artifact) -> bool:
    if principal.is_admin or artifact.visibility is Visibility.PUBLIC:
        return True
    return artifact.created_by == principal.name


def scope_for(principal: Principal, *, versioned: bool = False) -> Scope:
    """The listing scope of a principal: admins (and the registry itself) see every artifact."""
    viewer = None if principal.is_admin else principal.name
    return Scope(viewer=viewer, versioned=versioned)
