"""The spam judgement: the head's probability, the rules for what its training data lacks, and the reasons why.

The head (trained on YouTube comments and our French blog comments) reads the words and the author block. Three
situations of owned media are rare in that data, so fixed rules add their weight to its log-odds:
- the author's name is a web address ("meilleur-velo-electrique.fr") or made of shopping words ("Chaussures
  running pas cher"): SEO spam signs its link with what it sells (a handle a platform gives, such as a
  Bluesky handle, is a domain by design: not a sign);
- the text restates the post it answers without engaging with it, and its author leaves a website: the
  paraphrase SEO spam writes to look on topic;
- the store's history before the message (`pilote.traces`): the same website or e-mail address commenting on
  several threads within the hour (a burst: a shop's robot goes from post to post, a member stays in the
  conversation), the same link domain from several other authors within the hour; and a first comment, which
  only adds weight to another rule that fired: alone it never makes a member's message spam;
- the author speaks for the organisation (a team account): its own messages are never spam.
Weights are set by hand, once, from what a moderator would conclude (docs/models.md), never fitted to a test.

Each result carries its reasons: `{"spam": {"reasons": [[code, weight], ...]}}` in the enrichment extras, at most
`TOP` pairs, strongest first (by absolute weight; positive pushes toward spam), in log-odds. `phrase(code,
language)` says each in French or English.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from pilote.enrich import hashing, signals
from pilote.enrich.features import N_AUTHOR, TEXT_WIDTH, Batch, Sample, is_handle, website, weigh
from pilote.enrich.heads import Head
from pilote.messages import SPAM_THRESHOLD
from pilote.traces import History

TOP = 5
THRESHOLD = SPAM_THRESHOLD
NAME_DOMAIN = 4.0  # a web address as a name: no member signs so
NAME_COMMERCE = 3.0  # shopping words as a name
PARAPHRASE = 6.0  # restating the post, with a website to promote: the head reads it as on topic
BURST = 2.5  # the same website or e-mail on BURST_FROM other threads within the hour
SHARED_LINKS = 2.0  # the same link domain from BURST_FROM other authors within the hour
BURST_FROM = 2
FIRST = 1.0  # a first comment doubles the other rules' weight (and alone weighs nothing): a new name arriving so
TEAM = -20.0  # the organisation's own accounts
_EPSILON = 1e-6

# Reason code -> (English, French). Codes are stable: the cockpit and the API show them.
PHRASES: dict[str, tuple[str, str]] = {
    "words": ("its words read like spam", "ses mots ressemblent à du spam"),
    "words_ham": ("its words read like a member's", "ses mots ressemblent à ceux d'un membre"),
    "meaning": ("its meaning reads like spam", "son sens ressemble à du spam"),
    "meaning_ham": ("its meaning reads like a member's", "son sens ressemble à celui d'un membre"),
    "author_name": ("the author's name", "le nom de l'auteur"),
    "name_domain": ("the author's name is a web address", "le nom de l'auteur est une adresse web"),
    "name_commerce": ("the author's name is made of shopping words", "le nom de l'auteur est fait de mots marchands"),
    "name_phrase": ("the author's name reads like a phrase", "le nom de l'auteur ressemble à une expression"),
    "website": ("the author leaves a website", "l'auteur laisse un site web"),
    "no_website": ("the author leaves no website", "l'auteur ne laisse pas de site web"),
    "site_is_name": ("the author's website spells their name", "le site de l'auteur reprend son nom"),
    "site_commerce": (
        "the author's website's address is made of shopping words",
        "l'adresse du site de l'auteur est faite de mots marchands",
    ),
    "links": ("links in the text", "des liens dans le texte"),
    "no_links": ("no link in the text", "aucun lien dans le texte"),
    "link_own_site": ("a link to the author's own site", "un lien vers le site de l'auteur"),
    "promotion": ("invites to go elsewhere (channel, site, offer)", "invite à aller ailleurs (chaîne, site, offre)"),
    "copies": ("the same text posted several times", "le même texte publié plusieurs fois"),
    "post_relation": ("how it relates to the post it answers", "son lien avec l'article auquel il répond"),
    "paraphrase": ("restates the post without engaging with it", "répète l'article sans y réagir"),
    "team_account": ("written by the organisation's own account", "écrit par un compte de l'organisation"),
    "burst": (
        "the same website or address commented on several posts within the hour",
        "le même site ou la même adresse a commenté plusieurs articles en une heure",
    ),
    "shared_links": (
        "other authors linked the same site within the hour",
        "d'autres auteurs ont mis un lien vers le même site en une heure",
    ),
    "first_comment": ("the author's first message here", "le premier message de l'auteur ici"),
}
_PREFIXES = (
    ("a:is-domain", "name_domain"), ("a:is-commerce", "name_commerce"), ("a:is-phrase", "name_phrase"),
    ("a:domain", "name_domain"), ("a:", "author_name"), ("alen:", "author_name"), ("site:none", "no_website"),
    ("site:is-name", "site_is_name"), ("site:is-commerce", "site_commerce"), ("site:", "website"),
    ("links:0", "no_links"), ("links:", "links"), ("link:own-site", "link_own_site"), ("promo:", "promotion"),
    ("copies:", "copies"), ("post:", "post_relation"),
)  # fmt: skip


def phrase(code: str, language: str = "en") -> str:
    """A reason code in words, in French ("fr") or English (anything else); an unknown code as itself."""
    found = PHRASES.get(code)
    if found is None:
        return code
    return found[1] if language.startswith("fr") else found[0]


@lru_cache(maxsize=65536)
def code_of(token: str) -> str:
    """The reason code of an author-block token (authors post many times: looked up once per token)."""
    return next(code for prefix, code in _PREFIXES if token.startswith(prefix))


@dataclass(frozen=True, slots=True)
class Judgement:
    """A message's spam probability and the reasons that weighed most."""

    probability: float
    reasons: list[tuple[str, float]]

    def result(self) -> dict[str, object]:
        """As an analyzer's result: the column and the reasons for the extras."""
        return {"spam_probability": round(self.probability, 4),
                "reasons": [[code, round(weight, 2)] for code, weight in self.reasons]}  # fmt: skip


def rules(sample: Sample, *, team: bool = False, history: History | None = None) -> list[tuple[str, float]]:
    """The fixed rules that apply to a message, with their weights in log-odds."""
    if team:
        return [("team_account", TEAM)]
    found = []
    kinds = signals.name_kind(sample.author)
    if "domain" in kinds and not is_handle(sample.author, sample.url):
        found.append(("name_domain", NAME_DOMAIN))
    if "commerce" in kinds:
        found.append(("name_commerce", NAME_COMMERCE))
    if website(sample.url) and signals.paraphrase(sample.text, sample.parent):
        found.append(("paraphrase", PARAPHRASE))
    if history is not None:
        found += _from_history(history, found)
    return found


def may_rule(author: str, url: str) -> bool:
    """Whether a name or paraphrase rule may fire on this author's messages (a name that is a web address or made
    of shopping words, or a website): what a first comment needs to weigh anything."""
    kinds = signals.name_kind(author)
    return "domain" in kinds or "commerce" in kinds or bool(website(url))


def _from_history(history: History, ruled: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """The rules of the store's history; a first comment weighs FIRST times the other rules, so nothing alone."""
    found = []
    if history.burst >= BURST_FROM:
        found.append(("burst", BURST))
    if history.shared_links >= BURST_FROM:
        found.append(("shared_links", SHARED_LINKS))
    others = sum(weight for _, weight in [*ruled, *found] if weight > 0)
    if history.first and others:
        found.append(("first_comment", FIRST * others))
    return found


def judge(
    head: Head, batch: Batch, teams: Sequence[bool] | None = None, histories: Sequence[History | None] | None = None
) -> list[Judgement]:
    """The spam probability and reasons of each sample of the batch, by `head` and the rules; `teams` and
    `histories`, when given, one per sample."""
    spam = list(head.classes).index("spam")
    probability: list[float] = head.predict_proba(batch)[:, spam].tolist()
    parts = _parts(head, batch)
    found = []
    for i, sample in enumerate(batch.samples):
        ruled = rules(sample, team=bool(teams and teams[i]), history=histories[i] if histories else None)
        p = min(max(probability[i], _EPSILON), 1 - _EPSILON)
        logit = math.log(p / (1 - p)) + sum(weight for _, weight in ruled)
        reasons = _strongest([*ruled, *parts[i]])
        found.append(Judgement(1 / (1 + math.exp(-logit)), reasons))
    return found


def _strongest(reasons: list[tuple[str, float]]) -> list[tuple[str, float]]:
    summed: dict[str, float] = {}
    for code, weight in reasons:
        summed[code] = summed.get(code, 0.0) + weight
    kept = [(code, weight) for code, weight in summed.items() if abs(weight) >= 0.05]
    return sorted(kept, key=lambda pair: -abs(pair[1]))[:TOP]


def _parts(head: Head, batch: Batch) -> list[list[tuple[str, float]]]:
    """Each sample's contributions to the head's log-odds: its words, each author token's code, its meaning.

    Computed for the whole batch with array operations: each row's words sum its text columns' contributions,
    each author token reads its column's (a look-up of all the batch's tokens at once)."""
    rows = weigh(batch.rows(author=head.author), head.idf)
    weights = head.text.coef[-1].astype(np.float64)  # two classes: one row, toward the second ("spam")
    slope = float(head.text.platt[-1, 0]) * (1 - _blend(head, batch))
    contributions = rows.multiply(weights).tocsr()
    count = contributions.shape[0]
    values, columns = contributions.data * slope, contributions.indices
    owner = np.repeat(np.arange(count), np.diff(contributions.indptr))
    text = columns < TEXT_WIDTH
    words = _row_sums(values[text], owner[text], count)
    found: list[list[tuple[str, float]]] = [[("words" if w >= 0 else "words_ham", w)] for w in words]
    if head.author:
        author = ~text
        _add_tokens(found, batch.tokens, owner[author], columns[author] - TEXT_WIDTH, values[author])
    _add_meaning(head, batch, found)
    return found


def _row_sums(values: NDArray[np.float64], owner: NDArray[np.int64], count: int) -> list[float]:
    """The sum of each row's values (`owner`: the row of each value, in order), as numpy sums each row alone
    (pairwise: `np.add.reduceat` adds in another order, and the last digits differ); 0.0 for a row without any."""
    bounds = np.searchsorted(owner, np.arange(count + 1)).tolist()
    return [float(values[start:end].sum()) for start, end in itertools.pairwise(bounds)]


def _add_tokens(found: list[list[tuple[str, float]]], tokens: list[list[str]], owner: NDArray[np.int64],
                columns: NDArray[np.int32], values: NDArray[np.float64]) -> None:  # fmt: skip
    """Each sample's author tokens, as reason codes, with the contribution of the column each is hashed to."""
    mine = _token_columns(tokens)
    keys = owner * N_AUTHOR + columns
    order = np.argsort(keys, kind="stable")
    keys, values = keys[order], values[order]
    lengths = [len(pairs) for pairs in mine]
    asked = np.repeat(np.arange(len(mine)), lengths) * N_AUTHOR
    asked += np.fromiter((column for pairs in mine for _, column in pairs), dtype=np.int64, count=int(sum(lengths)))
    at = np.minimum(np.searchsorted(keys, asked), max(len(keys) - 1, 0))
    hit = keys[at] == asked if len(keys) else np.zeros(len(asked), dtype=np.bool_)
    read: list[float] = np.where(hit, values[at] if len(keys) else 0.0, 0.0).tolist()
    start = 0
    for reasons, pairs in zip(found, mine, strict=True):
        part = read[start : start + len(pairs)]
        reasons += [(code_of(token), value) for (token, _), value in zip(pairs, part, strict=True)]
        start += len(pairs)


def _blend(head: Head, batch: Batch) -> float:
    return head.blend if head.embedding is not None and batch.vectors is not None else 0.0


def _add_meaning(head: Head, batch: Batch, found: list[list[tuple[str, float]]]) -> None:
    """The embedding part's log-odds, by its share of the blend."""
    blend = _blend(head, batch)
    if not blend or head.embedding is None or batch.vectors is None:
        return
    vectors = np.hstack([batch.vectors, batch.lexicon]) if head.lexicon else batch.vectors
    decision = np.asarray(vectors @ head.embedding.weights, dtype=np.float64)[:, -1] + head.embedding.intercept[-1]
    logits = (decision * head.embedding.platt[-1, 0] + head.embedding.platt[-1, 1]) * blend
    for mine, value in zip(found, logits.tolist(), strict=True):
        mine.append(("meaning" if value >= 0 else "meaning_ham", value))


def _token_columns(tokens: list[list[str]]) -> list[list[tuple[str, int]]]:
    """Each sample's distinct author tokens and the column each is hashed to (as the batch's author block does)."""
    new = [token for token in dict.fromkeys(token for mine in tokens for token in mine) if token not in _COLUMNS]
    if new:
        if len(_COLUMNS) + len(new) > _KEPT_COLUMNS:
            _COLUMNS.clear()
        _COLUMNS.update(zip(new, hashing.token_counts(new, N_AUTHOR).indices.tolist(), strict=True))
    column = _COLUMNS.__getitem__
    return [[(token, column(token)) for token in dict.fromkeys(mine)] for mine in tokens]


# Author tokens' columns (a token's column depends on its characters only): most tokens recur in every batch.
_COLUMNS: dict[str, int] = {}
_KEPT_COLUMNS = 1 << 16
