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

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

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


def code_of(token: str) -> str:
    """The reason code of an author-block token."""
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
    probability = head.predict_proba(batch)[:, spam]
    parts = _parts(head, batch)
    found = []
    for i, sample in enumerate(batch.samples):
        ruled = rules(sample, team=bool(teams and teams[i]), history=histories[i] if histories else None)
        p = min(max(float(probability[i]), _EPSILON), 1 - _EPSILON)
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
    """Each sample's contributions to the head's log-odds: its words, each author token's code, its meaning."""
    rows = weigh(batch.rows(author=head.author), head.idf)
    weights = head.text.coef[-1].astype(np.float64)  # two classes: one row, toward the second ("spam")
    slope = float(head.text.platt[-1, 0]) * (1 - _blend(head, batch))
    contributions = rows.multiply(weights).tocsr()
    found: list[list[tuple[str, float]]] = []
    columns = _token_columns(batch.tokens) if head.author else [{} for _ in batch.samples]
    for i in range(rows.shape[0]):
        start, end = contributions.indptr[i], contributions.indptr[i + 1]
        cols, values = contributions.indices[start:end], contributions.data[start:end] * slope
        text = float(values[cols < TEXT_WIDTH].sum())
        mine = [("words" if text >= 0 else "words_ham", text)]
        by_column = dict(zip(cols.tolist(), values.tolist(), strict=True))
        for token, column in columns[i].items():
            mine.append((code_of(token), by_column.get(TEXT_WIDTH + column, 0.0)))
        found.append(mine)
    _add_meaning(head, batch, found)
    return found


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


def _token_columns(tokens: list[list[str]]) -> list[dict[str, int]]:
    """Each sample's author tokens and the column each is hashed to (as the batch's author block does)."""
    flat = [token for mine in tokens for token in mine]
    if not flat:
        return [{} for _ in tokens]
    matrix = hashing.token_counts(flat, N_AUTHOR)
    columns = matrix.indices.tolist()
    found, at = [], 0
    for mine in tokens:
        found.append(dict(zip(mine, columns[at : at + len(mine)], strict=True)))
        at += len(mine)
    return found
