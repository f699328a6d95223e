"""Each judgement of a message as pages and the API show it: the value decided, how sure the model is of it,
who decided (the model or a person), and for spam the reasons that weighed most.

A model's confidence is its calibrated probability of the value it shows: for sentiment and intent the
probability of the chosen class, for spam and toxicity the probability of "spam" / "toxic" when it says so and
its complement when it does not. A person's label (set in the cockpit, or brought by an import: a moderator's
decision) carries no confidence. The language analyzer keeps no score (short texts it is unsure of are `und`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from pilote.models import Enrichment, Message, extras

if TYPE_CHECKING:
    from pilote.views.common import MessageCard

UNSURE_BELOW = 0.6  # a display convention: below it, the badge says the model is unsure
TOXIC_FROM = 0.5
MAX_REASONS = 3


@dataclass(frozen=True, slots=True)
class Reason:
    """A feature or rule that weighed most toward calling a message spam (the spam analyzer's code and weight)."""

    code: str
    weight: float


@dataclass(frozen=True, slots=True)
class Judgement:
    """One judgement: its value, the model's confidence in it (None for a person's label), who decided."""

    value: str | bool
    confidence: float | None
    source: Literal["model", "person"]
    reasons: list[Reason] = field(default_factory=list)

    @property
    def unsure(self) -> bool:
        """Whether the model gave this value with little confidence."""
        return self.confidence is not None and self.confidence < UNSURE_BELOW


@dataclass(frozen=True, slots=True)
class Stored:
    """What the judgements read beyond the card: the sentiment column's score and the analyzers' extras."""

    sentiment_score: float | None = None
    value: str | None = None  # Enrichment.value


def stored(session: Session, ids: Sequence[int]) -> dict[int, Stored]:
    """Per message, its sentiment score and enrichment extras (one query for a page of cards)."""
    if not ids:
        return {}
    query = (
        select(Message.id, Message.sentiment_score, Enrichment.value)
        .outerjoin(Enrichment, Enrichment.message_id == Message.id)
        .where(Message.id.in_(ids))
    )
    return {row[0]: Stored(row[1], row[2]) for row in session.execute(query)}


def judge(card: MessageCard, found: Stored) -> dict[str, Judgement]:
    """The card's judgements, after `decide` chose between labels and models (those not made are absent)."""
    judged: dict[str, Judgement] = {}
    if card.language:
        judged["language"] = Judgement(card.language, None, "model")
    if card.sentiment:
        judged["sentiment"] = _class(card, "sentiment", card.sentiment, found, found.sentiment_score)
    if card.intent:
        judged["intent"] = _class(card, "intent", card.intent, found, None)
    if card.spam is not None:
        judged["spam"] = _spam(card, found)
    if card.toxicity_probability is not None:
        toxic = card.toxicity_probability >= TOXIC_FROM
        judged["toxicity"] = Judgement(toxic, _sure(card.toxicity_probability, toxic), "model")
    return judged


def _class(card: MessageCard, name: str, value: str, found: Stored, column: float | None) -> Judgement:
    """A judgement among classes: the label's, or the model's with the probability of its class."""
    if name in card.labels:
        return Judgement(value, None, "person")
    probabilities = extras(found.value, name).get("probabilities")
    chosen = probabilities.get(value) if isinstance(probabilities, dict) else None
    confidence = chosen if isinstance(chosen, int | float) else column
    return Judgement(value, None if confidence is None else round(float(confidence), 4), "model")


def _spam(card: MessageCard, found: Stored) -> Judgement:
    spam = bool(card.spam)
    if card.labels.get("spam") in ("spam", "ham") or card.spam_probability is None:
        return Judgement(spam, None, "person")
    return Judgement(spam, _sure(card.spam_probability, spam), "model", reasons(found.value) if spam else [])


def _sure(probability: float, said: bool) -> float:
    """The probability of what the model said, from the probability of the positive class."""
    return round(probability if said else 1 - probability, 4)


def reasons(value: str | None) -> list[Reason]:
    """The spam analyzer's reasons, strongest first, at most MAX_REASONS; none when absent or unreadable."""
    found: Any = extras(value, "spam").get("reasons")
    if not isinstance(found, list):
        return []
    kept = []
    for entry in found:
        if isinstance(entry, list | tuple) and len(entry) == 2 and isinstance(entry[0], str):
            weight = entry[1]
            if isinstance(weight, int | float) and not isinstance(weight, bool):
                kept.append(Reason(entry[0], round(float(weight), 4)))
    return kept[:MAX_REASONS]
