"""Engagement counters: replies are what the simulation wrote; likes and shares are heavy-tailed."""

from __future__ import annotations

from random import Random

from pilote.simulate.records import Draft

VIRAL_CAP = 30.0  # likes are at most this many times the audience: an ordinary post does not go viral
VIRAL = 4.0  # a message of the bad buzz is shared this many times more than an ordinary one


def settle(rng: Random, drafts: list[Draft]) -> None:
    """Set the counters of forum and social messages (the blog's comments have none); preset ones stay."""
    for draft in drafts:
        if draft.source == "blog":
            continue
        draft.replies = draft.children
        if draft.likes is not None:
            continue
        if draft.source == "forum":
            draft.likes = int(rng.paretovariate(1.8)) - 1
        else:
            _social(rng, draft)


def _social(rng: Random, draft: Draft) -> None:
    """Likes grow with the author's audience; shares are a fraction of likes, larger in a crisis."""
    audience = 1.0 + draft.author.followers / 60
    likes = int(audience * min(rng.paretovariate(1.7) - 1.0, VIRAL_CAP))
    if draft.kind == "reply":
        likes //= 3
    share = rng.uniform(0.03, 0.3) * (VIRAL if draft.truth.scenario == "bad_buzz" else 1.0)
    draft.likes, draft.shares = likes, int(likes * share)
