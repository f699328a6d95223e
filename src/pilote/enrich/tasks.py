"""The four shipped tasks: their training data, parameters and held-out measurements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pilote.enrich.datasets import Labelled, read
from pilote.enrich.heads import Head
from pilote.enrich.training import Params, Part, fit, held_out, score

YOUTUBE = ("Youtube01-Psy.csv", "Youtube02-KatyPerry.csv", "Youtube03-LMFAO.csv")
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


def _sentiment_parts(shared: Path, repo: Path) -> list[Part]:
    return [Part(_tweets(shared, "french", "train")), Part(_tweets(shared, "english", "train"))]


def _sentiment_measure(head: Head, shared: Path, repo: Path) -> Measured:
    # Allociné is measured with a head of its own: adding its reviews to the shipped head lowered UMSAB scores.
    allocine = fit("sentiment", [Part(read(shared / "sentiment_allocine_tv" / "train.tsv"))], Params(c=0.3))
    return {
        "umsab_fr_val_macro_f1": score(head, _tweets(shared, "french", "val")).macro_f1,
        "umsab_en_val_macro_f1": score(head, _tweets(shared, "english", "val")).macro_f1,
        "allocine_dev_accuracy": score(allocine, read(shared / "sentiment_allocine_tv" / "dev.tsv")).accuracy,
    }


def _spam_parts(shared: Path, repo: Path) -> list[Part]:
    youtube = [Part(read(shared / "youtube_spam" / name)) for name in YOUTUBE]
    return [*youtube, Part(read(repo / "spam_fr.csv"), held_out=True)]


def _spam_measure(head: Head, shared: Path, repo: Path) -> Measured:
    measured = {"spam_fr_held_out_macro_f1": score(head, held_out(read(repo / "spam_fr.csv"))).macro_f1}
    for tested in YOUTUBE:
        parts = [Part(read(shared / "youtube_spam" / name)) for name in YOUTUBE if name != tested]
        rotation = fit("spam", parts, head_params(head))
        scores = score(rotation, read(shared / "youtube_spam" / tested))
        video = tested.split("-")[1].removesuffix(".csv").lower()
        measured[f"youtube_{video}_spam_f1"] = scores.per_class["spam"]["f1"]
    return measured


def head_params(head: Head) -> Params:
    """The parameters a head was trained with."""
    stored = head.meta["parameters"]
    return Params(c=float(stored["c"]), domains=bool(stored["domains"]))


def _repo_task(name: str, file: str) -> Task:
    def parts(shared: Path, repo: Path) -> list[Part]:
        return [Part(read(repo / file), held_out=True)]

    def measure(head: Head, shared: Path, repo: Path) -> Measured:
        return {f"{Path(file).stem}_held_out_macro_f1": score(head, held_out(read(repo / file))).macro_f1}

    return Task(name, Params(), parts, measure)


TASKS: dict[str, Task] = {
    "sentiment": Task("sentiment", Params(c=0.1), _sentiment_parts, _sentiment_measure),
    "spam": Task("spam", Params(c=0.5, domains=True), _spam_parts, _spam_measure),
    "toxicity": _repo_task("toxicity", "toxicity.csv"),
    "intent": _repo_task("intent", "intent.csv"),
}
