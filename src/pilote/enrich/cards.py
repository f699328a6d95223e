"""Model cards: what each shipped head learned from, under which licence, when, and how well it does.

Written next to each model from the head's metadata: by `python -m pilote.enrich.ship` for the shipped heads
(`enrich/models/<task>.md`), by `pilote models train` for an installation's own ($PILOTE_HOME/models).
"""

from __future__ import annotations

from pathlib import Path

from pilote.enrich.heads import Head

DATA = {
    "sentiment": "UMSAB tweets (cardiffnlp/xlm-t), French (DEFT 2017) and English (SemEval 2017) train splits, "
    "1,839 each, three classes; the Allociné French TV-series reviews train split "
    "(Dong & de Melo's preprocessing of Van de Cruys's corpus, 2,739 reviews, two classes); the original "
    "datasets' terms apply; and 75% of the team's `data/sentiment.csv` (community messages, "
    "AGPL-3.0-or-later, written by the project). One head for short and long texts; each corpus's row weight "
    "is in the `meta` entry.",
    "spam": "YouTube Spam Collection (UCI, CC BY 4.0), the three files Psy, KatyPerry and LMFAO in full, and 75% "
    "of the team's `data/spam_fr.csv` (AGPL-3.0-or-later, written by the project); real members' messages as ham: "
    "the UMSAB train tweets, French and English (the original datasets' terms apply), the Allociné train reviews "
    "(Dong & de Melo) and the tweets of one X archive (milahu/twitter-milahu104, MIT), each signed with a name "
    "of the YouTube files' members.",
    "toxicity": "75% of the team's `data/toxicity.csv` (AGPL-3.0-or-later, written by the project).",
    "intent": "75% of the team's `data/intent.csv` (AGPL-3.0-or-later, written by the project).",
}
CLASSES = {
    "sentiment": "negative, neutral, positive. Columns `sentiment` (most probable class), `sentiment_score`.",
    "spam": "ham, spam. Column `spam_probability`; `spam` is true from 0.5.",
    "toxicity": "not_toxic, toxic. Column `toxicity_probability`.",
    "intent": "question, complaint, praise, suggestion, other. Column `intent` (most probable class).",
}
MEASURES = {
    "umsab_fr_val_macro_f1": "UMSAB French validation, macro-F1",
    "umsab_en_val_macro_f1": "UMSAB English validation, macro-F1",
    "sentiment_held_out_macro_f1": "data/sentiment.csv held-out 25%, macro-F1",
    "allocine_dev_accuracy": "Allociné dev accuracy, two classes (P(positive) against P(negative))",
    "spam_fr_held_out_macro_f1": "data/spam_fr.csv held-out 25%, macro-F1",
    "youtube_psy_spam_f1": "YouTube Psy, spam F1 (trained on the two other files, shipped prior)",
    "youtube_katyperry_spam_f1": "YouTube KatyPerry, spam F1 (trained on the two other files, shipped prior)",
    "youtube_lmfao_spam_f1": "YouTube LMFAO, spam F1 (trained on the two other files, shipped prior)",
    "umsab_fr_val_members_flagged": "UMSAB French validation tweets (presumed ham), % flagged spam",
    "umsab_en_val_members_flagged": "UMSAB English validation tweets (presumed ham), % flagged spam",
    "allocine_dev_members_flagged": "Allociné dev reviews (presumed ham), % flagged spam",
    "toxicity_held_out_macro_f1": "data/toxicity.csv held-out 25%, macro-F1",
    "intent_held_out_macro_f1": "data/intent.csv held-out 25%, macro-F1",
}


def card(head: Head) -> str:
    """The model card of a trained head, in Markdown."""
    task, parameters = head.meta["task"], head.meta["parameters"]
    scores = head.meta.get("scores", {})
    rows = [f"| {label} | {scores[key]:.1f} | {scores.get(key + '_text_only', float('nan')):.1f} |"
            for key, label in MEASURES.items() if key in scores]  # fmt: skip
    prior = parameters.get("prior")
    calibration = (f" Probabilities are calibrated for a community where {prior:.0%} of messages are {task}: the "
                   "training sets hold far more." if prior else "")  # fmt: skip
    return "\n".join([
        f"# Model card: {task}", "",
        f"Classes: {CLASSES[task]}", "",
        f"Training data: {DATA[task]}", "",
        f"Model: {parameters['model']}. Features: {parameters['features']}; embedding part: USE multilingual v3 "
        f"(512 dimensions){' + VADER lexicon scores' if parameters.get('lexicon') else ''}, blended with weight "
        f"{parameters.get('blend', 0):.1f} (chosen out of fold) when the `embeddings` analyzer has run, otherwise "
        f"the text part answers alone. C={parameters['c']} (text), {parameters.get('embedding_c')} (embedding), "
        "each chosen by 5-fold cross-validated log-loss on the training rows."
        f"{calibration} Stored as plain arrays (no pickle); the "
        f"`meta` entry holds the sha256 of every training file. Trained {head.meta['date']} with scikit-learn 1.9.1.",
        "", "| held-out measure | with embeddings | text only |", "|---|---:|---:|", *rows, "",
        f"Rebuild the shipped head: `python -m pilote.enrich.ship --task {task}` (a checkout of the repository); "
        f"an installation's own: `pilote models train --task {task}` (into $PILOTE_HOME/models); score any "
        f"labelled file: `pilote models eval --task {task} --data FILE`. Details: docs/models.md.", "",
    ])  # fmt: skip


def write(head: Head, model: Path) -> Path:
    """Write the card beside the model file."""
    path = model.with_suffix(".md")
    path.write_text(card(head), encoding="utf-8")
    return path
