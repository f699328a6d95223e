"""What a comment carries besides its words that tells a community manager it is spam, in French and English.

Small word lists written from what moderators see on owned media, never fitted to a data set: a name made of
shopping words ("Chaussures running pas cher", "Best VPN Deals"), a name that is a web address
("meilleur-velo-electrique.fr"), a text that invites to a channel, a site or an offer, and a text that restates
the post it answers without engaging with it (no question, no "I", no "but": the paraphrase SEO spam posts to
carry its author link). The head learns how much the first three weigh (`features.author_tokens`); the spam
rules (`spam.py`) add fixed weights for the situations its training data lacks.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache

_WORDS = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")


# Shopping, money and the usual SEO trades: a person is not called this.
def _listed(text: str) -> frozenset[str]:
    return frozenset(text.split())


COMMERCE = _listed(
    "cheap cheapest best meilleur meilleure meilleurs meilleures buy acheter achat achats promo promos promotion "
    "discount discounts deal deals soldes prix price prices sale sales shop shops store boutique outlet online "
    "wholesale casino casinos poker betting viagra cialis pharmacy pharmacie pills credit crédit crédits loan loans "
    "prêt prêts rachat mortgage assurance insurance mutuelle seo backlink backlinks référencement netlinking replica "
    "bitcoin crypto cryptos forex trading escort escorts dating devis livraison delivery vpn bonus jackpot slots "
    "déménagement plombier serrurier dépannage rénovation minceur régime diet keto cbd essay essays coupon coupons "
    "affiliate affiliation marketing agency agence services"
)
COMMERCE_PAIRS = (("pas", "cher"), ("pas", "chère"), ("pas", "chers"), ("en", "ligne"), ("low", "cost"))
# Lower-case words that belong in a person's name: "Jean de la Fontaine", "Ludwig van Beethoven".
PARTICLES = _listed("de du des la le les van von der den da di do dos das del della bin ben al el ter zu y e d l")
_DOMAIN = re.compile(r"^(?:https?://)?(?:www\.)?[\w-]{2,}(?:\.[\w-]+)*\.[a-z]{2,12}/?$")
# Inviting somewhere: a channel, a profile, a site, an offer.
PROMOTION = re.compile(
    r"\b(?:subscribe|subscribers?|my channel|my (?:new )?video|check (?:it |this |me )?out|visit (?:my|our)|click|"
    r"follow me|free (?:gift|money|iphone|trial|spins)|earn|make money|\$\d|promo code|discount code|sign up|"
    r"abonnez|abonne[- ]toi|ma chaîne|ma cha[iî]ne|mon site|notre site|cliquez|cliquer|gagnez|gagner de l'argent|"
    r"inscri(?:s|ption|vez)|code promo|gratuit)",
    re.IGNORECASE,
)
# Engaging with the post: speaking of oneself, disagreeing (a question mark counts too).
_ENGAGED = _listed(
    "je moi mon ma mes nous notre nos mais pourtant cependant toutefois d'accord i i'm i've i'd i'll my me we "
    "our us but however though although disagree agree"
)
PARAPHRASE_WORDS = 15
PARAPHRASE_SHARE = 0.6


def words(text: str) -> list[str]:
    """Lower-case words (an apostrophe kept inside: "j'ai" is "j'" and "ai" below)."""
    return _WORDS.findall(text.lower().replace("’", "'"))


@lru_cache(maxsize=8192)
def name_kind(author: str) -> tuple[str, ...]:
    """What an author name is when it is no person's name: "domain", "commerce", "phrase" (or nothing)."""
    name = author.strip()
    if not name:
        return ()
    kinds = []
    if " " not in name and _DOMAIN.match(name.lower()):
        kinds.append("domain")
    if commercial(words(name)):
        kinds.append("commerce")
    plain = [w for w in name.split() if w.isalpha()]
    lower = [w for w in plain[1:] if w.islower() and w not in PARTICLES]
    if len(name.split()) >= 5 or (len(name.split()) >= 3 and lower):
        kinds.append("phrase")
    return tuple(kinds)


def commercial(pieces: list[str]) -> bool:
    """Whether words (of a name, of a website's address) are shopping words: "pas cher", "casino", "discount"."""
    return bool(COMMERCE.intersection(pieces)) or any(pair in COMMERCE_PAIRS for pair in itertools.pairwise(pieces))


def promotion(text: str) -> int:
    """How many invitations to go somewhere else the text holds (a channel, a site, an offer)."""
    return len(PROMOTION.findall(text))


def engaged(text: str) -> bool:
    """Whether the text asks, speaks of its writer or answers someone: what a member does and a paraphrase does not."""
    if "?" in text:
        return True
    return any(w in _ENGAGED or w.startswith(("j'", "m'")) for w in words(text))


def restated_share(text: str, post: str) -> float:
    """The share of the text's distinct words of four letters or more that the post it answers also holds."""
    own = {w for w in words(text) if len(w) >= 4}
    if not own:
        return 0.0
    return len(own & _post_words(post)) / len(own)


@lru_cache(maxsize=1024)
def _post_words(post: str) -> frozenset[str]:
    return frozenset(w for w in words(post) if len(w) >= 4)


def paraphrase(text: str, post: str | None) -> bool:
    """A long text that mostly restates the post it answers, without asking, speaking of itself or disagreeing."""
    if not post or len(words(text)) < PARAPHRASE_WORDS:
        return False
    return restated_share(text, post) >= PARAPHRASE_SHARE and not engaged(text)
