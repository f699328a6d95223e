"""Sentiment: one head for tweets, reviews and community messages, measured as docs/evaluation.md says.

Corpora (training splits only; UMSAB validation and Allociné dev are read once, by the shipped head's training,
`python -m pilote.enrich.ship --task sentiment`): UMSAB French and English tweets (three classes), Allociné
reviews (two classes, 0 negative, 1 positive) and the 75 % of the team's data/sentiment.csv that training uses.
The recipe's settings are how the corpora weigh in the loss (`WEIGHTINGS`) and whether the text part reads
VADER's 4 lexicon scores beside the n-grams (`Params.text_lexicon`), chosen together (`RECIPES`); C and the
embedding blend are chosen inside `training.fit` on the rows it trains on.

- **in domain, nested**: the training rows of every corpus cut into 5 stratified folds; each outer fold chooses
  the recipe by leave-one-fold-out on the other four, trains on them and is scored on its own rows;
- **leave one corpus out, nested**: each corpus is held out whole; the recipe is chosen by leave-one-corpus-out
  on the others; how the head carries to a kind of text it never saw (reviews from tweets, and so on).

A two-class corpus is scored by P(positive) against P(negative) (`training.score`); the others by macro-F1.
Beside the recipe, on the same folds: the recipe of version 4 (tweets and the team's messages, no reviews) and
a plain baseline (word 1-2 TF-IDF, logistic regression, every corpus as it comes).

    python bench/eval_sentiment.py                  # text only (the default pipeline), both evaluations
    python bench/eval_sentiment.py --embeddings     # also the head with the embedding part (slower)
    python bench/eval_sentiment.py --choose         # the recipe the shipped head uses (tasks.SENTIMENT_WEIGHTING,
                                                    # tasks.SENTIMENT_TEXT_LEXICON)
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from statistics import mean
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pilote.enrich.datasets import Labelled, shared_folder
from pilote.enrich.heads import Head
from pilote.enrich.tasks import SENTIMENT_WEIGHTINGS as WEIGHTINGS
from pilote.enrich.tasks import sentiment_corpora, weighted
from pilote.enrich.training import REPO_DATA, SEED, Params, Part, fit, score, split, subset
from protocol import nested, record

FOLDS = 5
# (weighting, the text part reads the lexicon scores), the simpler first: ties go to it.
Recipe = tuple[str, bool]
RECIPES: tuple[Recipe, ...] = tuple((w, lexicon) for lexicon in (False, True) for w in WEIGHTINGS)
PREVIOUS = ("umsab_fr", "umsab_en", "team")  # what version 4 trained on


@dataclass(frozen=True)
class Fitted:
    """The heads of one fold: the recipe, version 4's recipe and the plain baseline."""

    head: Head
    previous: Head
    baseline: Pipeline


def corpora(shared: Path) -> dict[str, Labelled]:
    """The training split of each corpus (the team's file: the 75 % training uses)."""
    found = sentiment_corpora(shared, REPO_DATA)
    found["team"] = subset(found["team"], split(found["team"])[0])
    return found


def judge(head: Head, data: Labelled, *, vectors: bool = False) -> float:
    """Macro-F1 on three classes, accuracy by P(positive) against P(negative) on two."""
    scores = score(head, data, vectors=vectors)
    return scores.accuracy if scores.two_class else scores.macro_f1


def judge_baseline(model: Pipeline, data: Labelled) -> float:
    classes = list(model.classes_)
    probability = model.predict_proba(data.texts)
    if set(data.labels) <= {"negative", "positive"}:
        said = np.where(probability[:, classes.index("positive")] >= probability[:, classes.index("negative")],
                        "positive", "negative")  # fmt: skip
        return round(100 * float(np.mean(said == np.array(data.labels))), 2)
    from sklearn.metrics import f1_score

    return round(100 * float(f1_score(data.labels, model.predict(data.texts), average="macro")), 2)


def baseline(data: dict[str, Labelled]) -> Pipeline:
    texts = [t for d in data.values() for t in d.texts]
    labels = [label for d in data.values() for label in d.labels]
    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
                          LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000))  # fmt: skip
    return model.fit(texts, labels)


class InDomain:
    """Rows of every corpus in 5 stratified folds; a group is a fold number."""

    def __init__(self, data: dict[str, Labelled], embeddings: bool) -> None:
        self.data, self.embeddings = data, embeddings
        cut = StratifiedKFold(FOLDS, shuffle=True, random_state=SEED)
        self.rows = {name: [held.tolist() for _, held in cut.split(d.labels, d.labels)] for name, d in data.items()}

    def of(self, folds: list[int]) -> dict[str, Labelled]:
        return {name: subset(d, sorted(r for f in folds for r in self.rows[name][f])) for name, d in self.data.items()}

    def head(self, folds: list[int], recipe: Recipe, *, embeddings: bool = False) -> Head:
        return fit("sentiment", weighted(self.of(folds), recipe[0]), params(recipe, embeddings))

    def choose(self, folds: list[int]) -> Recipe:
        return best(folds, lambda train, held, r: mean(judge(self.head(train, r), d) for d in self.of([held]).values()))

    def fit(self, folds: list[int], recipe: Recipe) -> Fitted:
        chosen = self.head(folds, recipe, embeddings=self.embeddings)
        data = self.of(folds)
        previous = fit("sentiment", [Part(data[name]) for name in PREVIOUS], Params(embeddings=False))
        return Fitted(chosen, previous, baseline(data))

    def measure(self, fitted: Fitted, fold: int) -> dict[str, dict[str, float]]:
        return measured(fitted, self.of([fold]), self.embeddings)


class LeaveOneCorpusOut:
    """A group is a corpus."""

    def __init__(self, data: dict[str, Labelled], embeddings: bool) -> None:
        self.data, self.embeddings = data, embeddings

    def head(self, names: list[str], recipe: Recipe, *, embeddings: bool = False) -> Head:
        data = {name: self.data[name] for name in names}
        return fit("sentiment", weighted(data, recipe[0]), params(recipe, embeddings))

    def choose(self, names: list[str]) -> Recipe:
        return best(names, lambda train, held, r: judge(self.head(train, r), self.data[held]))

    def fit(self, names: list[str], recipe: Recipe) -> Fitted:
        previous = [Part(self.data[n]) for n in PREVIOUS if n in names]
        return Fitted(self.head(names, recipe, embeddings=self.embeddings),
                      fit("sentiment", previous, Params(embeddings=False)),
                      baseline({n: self.data[n] for n in names}))  # fmt: skip

    def measure(self, fitted: Fitted, name: str) -> dict[str, dict[str, float]]:
        return measured(fitted, {name: self.data[name]}, self.embeddings)


def params(recipe: Recipe, embeddings: bool) -> Params:
    """The head's parameters for a recipe (the embedding part, when asked, reads the lexicon too, as shipped)."""
    return Params(embeddings=embeddings, lexicon=embeddings, text_lexicon=recipe[1])


def best(groups: list[Any], value: Any) -> Recipe:
    """The recipe with the best mean score over the inner leave-one-group-out (the first on ties)."""
    from protocol import inner_folds

    tried = {r: round(mean(value(train, held, r) for train, held in inner_folds(groups)), 2) for r in RECIPES}
    print(f"  inner scores on {groups}: {tried}", file=sys.stderr, flush=True)
    return max(RECIPES, key=lambda r: (tried[r], -RECIPES.index(r)))


def measured(fitted: Fitted, data: dict[str, Labelled], embeddings: bool) -> dict[str, dict[str, float]]:
    found = {}
    for name, held in data.items():
        row = {"text only": judge(fitted.head, held), "version 4 recipe": judge(fitted.previous, held),
               "TF-IDF + LR": judge_baseline(fitted.baseline, held)}  # fmt: skip
        if embeddings:
            row["with embeddings"] = judge(fitted.head, held, vectors=True)
        found[name] = row
    return found


def table(rows: dict[str, dict[str, float]], title: str) -> list[str]:
    columns = list(next(iter(rows.values())))
    lines = [f"| {title} | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    lines += [f"| {name} | " + " | ".join(f"{v:.1f}" for v in row.values()) + " |" for name, row in rows.items()]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--embeddings", action="store_true", help="Also fit and score the embedding part.")
    parser.add_argument("--only", choices=("in-domain", "corpus"), help="Run one of the two evaluations.")
    parser.add_argument("--choose", action="store_true", help="Only the recipe chosen on all training rows.")
    arguments = parser.parse_args()
    data = corpora(shared_folder())
    lines: list[str] = []
    if arguments.choose:
        chosen = InDomain(data, embeddings=False).choose(list(range(FOLDS)))
        print(record("Sentiment: the recipe (weighting, text lexicon) chosen on all training splits", [f"`{chosen}`"]))
        return
    if arguments.only != "corpus":
        domain = InDomain(data, arguments.embeddings)
        outcome = nested(list(range(FOLDS)), choose=domain.choose, fit=domain.fit, measure=domain.measure,
                         progress=lambda s: print(s, file=sys.stderr, flush=True))  # fmt: skip
        per_fold = [fold.score for fold in outcome.folds]
        rows = {name: {k: round(mean(f[name][k] for f in per_fold), 1) for k in per_fold[0][name]} for name in data}
        lines += [*table(rows, "in domain, 5 outer folds (mean)"), "",
                  f"Recipe (weighting, text lexicon) chosen per outer fold: {dict(outcome.choices())}", ""]  # fmt: skip
    if arguments.only != "in-domain":
        loco = LeaveOneCorpusOut(data, arguments.embeddings)
        outcome = nested(list(data), choose=loco.choose, fit=loco.fit, measure=loco.measure,
                         progress=lambda s: print(s, file=sys.stderr, flush=True))  # fmt: skip
        rows = {fold.held_out: fold.score[fold.held_out] for fold in outcome.folds}
        chosen = {f.held_out: f.choice for f in outcome.folds}
        lines += [
            *table(rows, "corpus held out (trained on the others)"),
            "",
            f"Recipe (weighting, text lexicon) chosen per held-out corpus: {chosen}",
        ]
    print(record("Sentiment: nested evaluation on the training splits", lines))


if __name__ == "__main__":
    main()
