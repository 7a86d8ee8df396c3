"""reviewedness: the fraction of the linked repository's code that a second person approved.

    reviewedness = Σ code_lines(merged PRs with an approving review)
                   / (Σ code_lines(all merged PRs) + direct_commit_lines)

over the window the source reads. Lines are code lines only (additions + deletions; weights and
data files are excluded by the source), so a PR that uploads a checkpoint does not count as review,
and code pushed straight to the branch counts as unreviewed.

Values and the choices behind them:

* -1 — no linked repository: not applicable (the contract's rule); net_score leaves it out.
* -1 — the repository is linked but its pull requests could not be read (`pulls is None`). Any
  number would be invented: 0 would accuse the project of skipping review, 1 would vouch for
  review nobody saw. -1 says "not measurable" and net_score leaves it out, as it does for a missing
  repository. The rating's notes should say why.
* 0 — no merged pull requests and no direct lines in the window: there is no reviewed code to
  credit. (A quiet repository is not evidence of review.)
"""

from __future__ import annotations

from tmr.rating.evidence import ModelEvidence, RepositoryEvidence

NOT_APPLICABLE = -1.0


def line_counts(repository: RepositoryEvidence) -> tuple[int, int] | None:
    """(reviewed code lines, all code lines) of the window; None when pull requests are unknown.

    Negative counts (a malformed upstream answer) count as 0 rather than cancelling real lines."""
    if repository.pulls is None:
        return None
    reviewed = sum(max(0, p.code_lines) for p in repository.pulls if p.approved)
    merged = sum(max(0, p.code_lines) for p in repository.pulls)
    return reviewed, merged + max(0, repository.direct_commit_lines)


def compute(evidence: ModelEvidence) -> float:
    if evidence.repository is None:
        return NOT_APPLICABLE
    counts = line_counts(evidence.repository)
    if counts is None:
        return NOT_APPLICABLE
    reviewed, total = counts
    return min(1.0, reviewed / total) if total > 0 else 0.0
