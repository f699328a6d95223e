"""The four shipped tasks: their training data, parameters and held-out measurements.

No C is pinned: `training.fit` chooses each part's C and the blend weight out of fold on the rows it trains
on, so a measurement head (each YouTube rotation) makes its own choices without its test file.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from pilote.enrich.datasets import Labelled, read
from pilote.enrich.features import Batch, Sample
from pilote.enrich.heads import Head
from pilote.enrich.training import HELD_OUT, Params, Part, batch_of, fit, held_out, predict, score

# Expected shares in a community (the training sets hold 40-50%): probabilities are calibrated for these.
# Spam's is chosen by bench/eval_spam.py among 0.02-0.5: the best F1 over leave-one-video-out among the priors that
# flag at most 1 % of every members' corpus left out (precision first), else the smallest.
SPAM_PRIOR = 0.02
TOXIC_PRIOR = 0.05
SPAM = Params(author=True, prior=SPAM_PRIOR)
YOUTUBE = ("Youtube01-Psy.csv", "Youtube02-KatyPerry.csv", "Youtube03-LMFAO.csv")
# Real members' messages, learnt as ham by the spam head: news links, praise, complaints, reviews and replies with
# mentions and links are members' voices. Training splits only: the validation and dev splits measure how many
# members the head flags.
MEMBERS = ("sentiment_tweets/french/train_text.txt", "sentiment_tweets/english/train_text.txt",
           "sentiment_allocine_tv/train.tsv", "x_archive/tweets.js")  # fmt: skip
Measured = dict[str, float]


@dataclass(frozen=True, slots=True)
class Task:
    """What a head learns from (`parts`) and how it is measured on data it never saw (`measure`)."""

    name: str
    params: Params
    parts: Callable[[Path, Path], list[Part]]
    measure: Callable[[Head, Path, Path], Measured]


def _tweets(shared: Path, language: str, name: str) -> Labelled:
    return read(shared / "sentiment_tweets" / language / f"{name}_text.txt")


def sentiment_corpora(shared: Path, repo: Path) -> dict[str, Labelled]:
    """The sentiment head's training corpora: tweets (three classes), reviews (two) and the team's messages."""
    reviews = read(shared / "sentiment_allocine_tv" / "train.tsv")
    tweets = {"umsab_fr": _tweets(shared, "french", "train"), "umsab_en": _tweets(shared, "english", "train")}
    return {**tweets, "allocine": reviews, "team": read(repo / "sentiment.csv")}


# How the corpora weigh in the loss: as they come (one row, one vote), each corpus the same total weight,
# or reviews at half weight. Chosen by bench/eval_sentiment.py (nested, on the training splits).
SENTIMENT_WEIGHTINGS = ("rows", "corpora", "reviews_half")
SENTIMENT_WEIGHTING = "corpora"
# Whether the text part reads VADER's 4 scores beside the n-grams (`Params.text_lexicon`): chosen with the
# weighting, by the same nested evaluation.
SENTIMENT_TEXT_LEXICON = True


def weighted(data: dict[str, Labelled], weighting: str, held_out: tuple[str, ...] = ()) -> list[Part]:
    """One part per corpus, its rows weighted as `weighting` says (`held_out`: corpora trained on 75 % only)."""
    sizes = {name: len(d.samples) * (1 - HELD_OUT if name in held_out else 1) for name, d in data.items()}
    average = sum(sizes.values()) / len(sizes)
    weights = {"rows": dict.fromkeys(data, 1.0), "corpora": {name: average / sizes[name] for name in data},
               "reviews_half": {name: 0.5 if name == "allocine" else 1.0 for name in data}}[weighting]  # fmt: skip
    return [Part(d, held_out=name in held_out, weight=round(weights[name], 4)) for name, d in data.items()]


def _sentiment_parts(shared: Path, repo: Path) -> list[Part]:
    return weighted(sentiment_corpora(shared, repo), SENTIMENT_WEIGHTING, held_out=("team",))


def _sentiment_measure(head: Head, shared: Path, repo: Path) -> Measured:
    """UMSAB validation and Allociné dev (read once per recipe: docs/evaluation.md), the team's held-out 25 %."""
    sets = {"umsab_fr_val_macro_f1": _tweets(shared, "french", "val"),
            "umsab_en_val_macro_f1": _tweets(shared, "english", "val"),
            "sentiment_held_out_macro_f1": held_out(read(repo / "sentiment.csv")),
            "allocine_dev_accuracy": read(shared / "sentiment_allocine_tv" / "dev.tsv")}  # fmt: skip
    measured = {}
    for key, data in sets.items():
        for suffix, vectors in (("", True), ("_text_only", False)):
            scores = score(head, data, vectors=vectors)
            measured[key + suffix] = scores.accuracy if scores.two_class else scores.macro_f1
    return measured


def as_ham(data: Labelled) -> Labelled:
    """A file of messages presumed not spam (real people's, of any task) as spam-task ham."""
    return Labelled("spam", data.samples, ["ham"] * len(data.samples), data.path)


def members(shared: Path, signed_by: list[Labelled]) -> list[Labelled]:
    """The members' messages the spam head learns as ham (`MEMBERS`), signed with the names of `signed_by`'s ham."""
    names = [s.author for data in signed_by for s, label in zip(data.samples, data.labels, strict=True)
             if label == "ham" and s.author]  # fmt: skip
    return [signed(_messages(shared / name), names) for name in MEMBERS]


def _messages(path: Path) -> Labelled:
    """A members' corpus as ham: a labelled file of another task, or an X archive's tweets."""
    if path.name != "tweets.js":
        return as_ham(read(path))
    from pilote.sources import x_archive
    from pilote.sources.base import Item, ParseOptions

    texts = [item.text for item in x_archive.parse(path, ParseOptions()) if isinstance(item, Item)]
    return Labelled("spam", [Sample(text) for text in texts], ["ham"] * len(texts), path)


def signed(data: Labelled, names: list[str]) -> Labelled:
    """The samples signed with members' names, drawn in a fixed shuffled order, a third of the names with a
    website of their own (`member_site`).

    The members' corpora carry no author, every message judged has one: unsigned, they would teach the author
    block that a name is a spam sign (a missing name the mark of a member), and real members would be flagged.
    """
    order = np.random.default_rng(0).permutation(len(names))
    samples = []
    for i, sample in enumerate(data.samples):
        name = names[order[i % len(names)]]
        samples.append(replace(sample, author=name, url=member_site(name)))
    return Labelled(data.task, samples, data.labels, data.path)


# A blog's comment form asks for a website, and members who keep a blog of their own leave it: without websites
# among the members' messages, the author block learnt "has a website" as a spam sign from the team's file alone
# (162 of its 168 comments with a website are spam), and flagged a member's "Merci pour le tuto !" signed with
# their own blog (0.93-0.999). One name in three gets a site made from it, half its name, half a hobby and its
# first name. Set from how blogs' comment forms are used, not tuned on any measure.
SITE_EVERY = 3
HOBBIES = ("blog", "carnet", "cuisine", "voyages", "photo", "jardin", "notes", "kitchen", "travels", "makes",
           "rando", "couture", "running", "home", "atelier", "garden")  # fmt: skip


def member_site(name: str) -> str:
    """The website a member signs with, made from their name: "" for two names in three."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    pieces = re.findall(r"[a-z0-9]+", folded)
    draw = zlib.crc32(name.encode())
    if not pieces or draw % SITE_EVERY:
        return ""
    if draw // SITE_EVERY % 2:
        return f"https://{'-'.join(pieces)}.example"
    return f"https://{HOBBIES[draw // 7 % len(HOBBIES)]}-{pieces[0]}.example"


def _spam_parts(shared: Path, repo: Path) -> list[Part]:
    youtube = [read(shared / "youtube_spam" / name) for name in YOUTUBE]
    ham = [Part(data) for data in members(shared, youtube)]
    return [*(Part(data) for data in youtube), Part(read(repo / "spam_fr.csv"), held_out=True), *ham]


def _spam_measure(head: Head, shared: Path, repo: Path) -> Measured:
    french = held_out(read(repo / "spam_fr.csv"))
    measured = {"spam_fr_held_out_macro_f1": score(head, french).macro_f1,
                "spam_fr_held_out_macro_f1_text_only": score(head, french, vectors=False).macro_f1}  # fmt: skip
    measured.update(_members_flagged(head, shared))
    for tested in YOUTUBE:
        videos = [read(shared / "youtube_spam" / name) for name in YOUTUBE if name != tested]
        parts = [Part(data) for data in videos]
        ham = [Part(data) for data in members(shared, videos)]
        # The recipe as shipped (its C chosen again without the tested file; its prior, though, was chosen with
        # all three videos: bench/eval_spam.py gives the nested figures, the ones to quote).
        rotation = fit("spam", [*parts, Part(read(repo / "spam_fr.csv"), held_out=True), *ham], SPAM)
        video = tested.split("-")[1].removesuffix(".csv").lower()
        for suffix, vectors in (("", True), ("_text_only", False)):
            scores = score(rotation, read(shared / "youtube_spam" / tested), vectors=vectors)
            measured[f"youtube_{video}_spam_f1{suffix}"] = scores.per_class["spam"]["f1"]
    return measured


def _members_flagged(head: Head, shared: Path) -> Measured:
    """The share of real members' messages (validation and dev splits, presumed ham) the head calls spam."""
    measured = {}
    for key, name in (("umsab_fr_val", "sentiment_tweets/french/val_text.txt"),
                      ("umsab_en_val", "sentiment_tweets/english/val_text.txt"),
                      ("allocine_dev", "sentiment_allocine_tv/dev.tsv")):  # fmt: skip
        data = read(shared / name)
        for suffix, batch in (("", batch_of(data)), ("_text_only", Batch(data.samples))):
            flagged = predict(head, batch).count("spam")
            measured[f"{key}_members_flagged{suffix}"] = round(100 * flagged / len(data.samples), 2)
    return measured


def _repo_task(name: str, file: str, params: Params) -> Task:
    def parts(shared: Path, repo: Path) -> list[Part]:
        return [Part(read(repo / file), held_out=True)]

    def measure(head: Head, shared: Path, repo: Path) -> Measured:
        data, stem = held_out(read(repo / file)), Path(file).stem
        return {f"{stem}_held_out_macro_f1": score(head, data).macro_f1,
                f"{stem}_held_out_macro_f1_text_only": score(head, data, vectors=False).macro_f1}  # fmt: skip

    return Task(name, params, parts, measure)


TASKS: dict[str, Task] = {
    "sentiment": Task(
        "sentiment", Params(lexicon=True, text_lexicon=SENTIMENT_TEXT_LEXICON), _sentiment_parts, _sentiment_measure
    ),
    "spam": Task("spam", SPAM, _spam_parts, _spam_measure),
    "toxicity": _repo_task("toxicity", "toxicity.csv", Params(prior=TOXIC_PRIOR)),
    "intent": _repo_task("intent", "intent.csv", Params()),
}
