from __future__ import annotations

import hashlib
import json
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from factories import item, target
from pilote import enrich
from pilote.cli import app
from pilote.enrich import classifiers
from pilote.enrich.base import Text
from pilote.enrich.datasets import read
from pilote.enrich.features import TEXT_WIDTH, Batch, Sample, author_tokens, learn_idf, lexicon_scores, website, weigh
from pilote.enrich.heads import MODELS, Head, in_force, load, path_of, save
from pilote.enrich.pipeline import run
from pilote.enrich.training import Params, Part, evaluate, fit
from pilote.enrich.training import score as score_of
from pilote.errors import BadInput, Invalid
from pilote.ingest import write_batch
from pilote.models import Message

HAPPY = ["super content merci", "génial, j'adore", "love it, thanks", "great job team", "trop bien bravo"]
SAD = ["nul, je déteste", "horrible service", "awful, I hate it", "terrible panne encore", "déçu et furieux"]


def toxicity_file(folder: Path, rows: list[tuple[str, int]]) -> Path:
    path = folder / "toxicity.csv"
    lines = ["text,language,toxic", *(f'"{text}",fr,{label}' for text, label in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def tiny_head(folder: Path) -> tuple[Path, Path]:
    rows = [(t, 0) for t in HAPPY * 2] + [(t, 1) for t in SAD * 2]
    data = toxicity_file(folder, rows)
    head = fit("toxicity", [Part(read(data))], Params(c=1.0, embeddings=False))
    save(head, folder / "head.npz")
    return data, folder / "head.npz"


def test_features_are_the_same_for_the_same_text_every_time() -> None:
    texts = ["Soooo cool @bob https://www.example.com/x \ufeff", "Merci !", ""]
    raw = Batch([Sample(t) for t in texts]).text
    idf = learn_idf(raw)
    first, second = weigh(raw, idf), weigh(Batch([Sample(t) for t in texts]).text, idf.copy())
    assert (first != second).nnz == 0
    assert np.allclose(np.asarray(first.multiply(first).sum(axis=1)).ravel(), [1.0, 1.0, 0.0])
    assert raw.data.tolist() == Batch([Sample(t) for t in texts]).text.data.tolist()  # weighing left it alone


def test_a_profile_page_is_not_a_website_but_a_keyword_domain_is() -> None:
    assert website("https://social.example/@daniel_patel") == ""
    assert website("https://www.youtube.example/channel/UC123") == ""
    assert website("https://best-pellet-stoves-com.example/") == "best-pellet-stoves-com.example"
    seo = author_tokens(
        Sample("Super article, merci !", "Best Pellet Stoves.com", "https://best-pellet-stoves-com.example/")
    )
    reader = author_tokens(Sample("Super article, merci !", "Daniel Patel", "https://social.example/@daniel_patel"))
    assert {"site:is-name", "a:domain", "site:yes"} <= set(seo)
    assert "site:none" in reader
    assert "site:is-name" not in reader


def test_the_author_block_counts_copies_and_relation_to_the_post() -> None:
    post = "Comment régler le dérailleur arrière de votre vélo"
    same = Sample("Great post, thanks for sharing!", "Cheap Flights", "", post)
    on_topic = Sample("Mon dérailleur arrière grince encore après réglage", "Ana", "", post)
    batch = Batch([same, same, same, on_topic])
    tokens = [set(author_tokens(s, n)) for s, n in ((same, 3), (on_topic, 1))]
    assert {"copies:2-4", "post:unrelated"} <= tokens[0]
    assert {"copies:1", "post:related"} <= tokens[1]
    assert batch.author.shape == (4, 2**14)
    assert (batch.author[0] != batch.author[3]).nnz > 0


def test_the_heads_share_one_featurisation_per_batch() -> None:
    texts = [Text(id=i, kind="comment", title=None, text=t) for i, t in enumerate(HAPPY)]
    assert classifiers.batch(texts) is classifiers.batch(list(texts))
    assert classifiers.batch(texts[:2]) is not classifiers.batch(texts)


def test_a_community_prior_lowers_the_probability_of_the_rare_class(tmp_path: Path) -> None:
    data, _ = tiny_head(tmp_path)
    balanced = fit("toxicity", [Part(read(data))], Params(c=1.0, embeddings=False))
    rare = fit("toxicity", [Part(read(data))], Params(c=1.0, embeddings=False, prior=0.05))
    texts = HAPPY + SAD + ["un message quelconque"]
    assert np.all(rare.predict_proba(texts)[:, 1] < balanced.predict_proba(texts)[:, 1])
    assert rare.meta["parameters"]["prior"] == 0.05


def test_a_head_trained_on_a_tiny_set_separates_it(tmp_path: Path) -> None:
    _, path = tiny_head(tmp_path)
    head = load(path)
    assert head.predict(HAPPY) == ["not_toxic"] * len(HAPPY)
    assert head.predict(SAD) == ["toxic"] * len(SAD)


def test_a_saved_head_loads_back_with_identical_probabilities(tmp_path: Path) -> None:
    data, path = tiny_head(tmp_path)
    head = fit("toxicity", [Part(read(data))], Params(c=1.0, embeddings=False))
    assert np.array_equal(head.predict_proba(HAPPY + SAD), load(path).predict_proba(HAPPY + SAD))


def test_a_model_file_holds_plain_arrays_only(tmp_path: Path) -> None:
    _, path = tiny_head(tmp_path)
    with np.load(path, allow_pickle=False) as stored:
        assert all(stored[name].dtype != object for name in stored.files)
        meta = json.loads(str(stored["meta"]))
    assert meta["task"] == "toxicity"
    assert re.fullmatch(r"[0-9a-f]{64}", meta["trained_on"][0]["sha256"])


def test_eval_refuses_a_file_the_model_was_trained_on(tmp_path: Path) -> None:
    data, path = tiny_head(tmp_path)
    with pytest.raises(Invalid, match="trained on this file"):
        evaluate(load(path), data)
    (tmp_path / "other").mkdir()
    unseen = toxicity_file(tmp_path / "other", [("bravo, super content", 0), ("horrible et nul, déçu", 1)])
    scores, scope = evaluate(load(path), unseen)
    assert scope.startswith("all 2 rows")
    assert scores.accuracy == 100.0


def test_a_missing_model_says_to_train_it(tmp_path: Path) -> None:
    with pytest.raises(Invalid, match="pilote models train"):
        load(tmp_path / "sentiment.npz")


def test_eval_json_gives_scores_per_class_and_the_confusion_matrix(tmp_path: Path) -> None:
    rows = [
        "text,language,intent",
        "Comment je change mon mot de passe ?,fr,question",
        "Toujours pas reçu ma commande après 3 semaines,fr,complaint",
        "Merci pour l'accueil super sympa,fr,praise",
    ]
    (tmp_path / "intent.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["models", "eval", "--task", "intent", "--data", str(tmp_path / "intent.csv"),
                                      "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert {"macro_f1", "accuracy", "per_class", "confusion"} <= set(scores)
    assert 0 <= scores["macro_f1"] <= 100
    assert set(scores["per_class"]["question"]) == {"precision", "recall", "f1", "support"}


def test_eval_of_a_training_file_exits_1_with_a_reason() -> None:
    intent = Path(__file__).resolve().parents[1] / "data" / "intent.csv"
    result = CliRunner().invoke(app, ["models", "eval", "--task", "spam", "--data", str(intent)])
    assert result.exit_code == 1
    assert "--task intent" in result.output


def test_the_heads_fill_their_columns_through_the_pipeline(engine: Engine) -> None:
    t = target(engine)
    texts = ["Merci pour votre aide, service génial !", "Pourquoi ma commande n'est toujours pas arrivée ?"]
    with engine.begin() as conn:
        write_batch(conn, t, [item(f"m{i}", text, minutes=i) for i, text in enumerate(texts)])
    names = ["sentiment", "spam", "toxicity", "intent"]
    report = run(engine, enrich.get(names), workspace_id=t.workspace_id)
    assert report.analysed == dict.fromkeys(names, 2)
    with Session(engine) as session:
        rows = session.execute(select(Message.sentiment, Message.sentiment_score, Message.spam_probability,
                                      Message.toxicity_probability, Message.intent)).all()  # fmt: skip
    for sentiment, score, spam, toxic, intent in rows:
        assert sentiment in {"negative", "neutral", "positive"}
        assert 1 / 3 <= score <= 1
        assert 0 <= spam <= 1
        assert 0 <= toxic <= 1
        assert intent in {"question", "complaint", "praise", "suggestion", "other"}


@pytest.mark.realdata
def test_the_shipped_sentiment_model_scores_what_its_card_says(shared: Path) -> None:
    card = (path_of("sentiment").with_suffix(".md")).read_text(encoding="utf-8")
    recorded = float(re.search(r"UMSAB French validation[^|]*\|\s*([\d.]+)", card).group(1))  # type: ignore[union-attr]
    scores, _ = evaluate(load(path_of("sentiment")), shared / "sentiment_tweets" / "french" / "val_text.txt")
    assert abs(scores.macro_f1 - recorded) <= 0.1


def test_an_unknown_labelled_file_is_refused_with_the_expected_headers(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("message,score\nbonjour,1\n", encoding="utf-8")
    with pytest.raises(BadInput, match="line 1: unknown header"):
        read(path)


def test_the_task_names_of_the_cli_are_the_trained_tasks() -> None:
    from pilote.cli.models import TASK_NAMES
    from pilote.enrich.tasks import TASKS

    assert tuple(TASKS) == TASK_NAMES


def test_a_head_sent_to_a_worker_process_predicts_the_same(tmp_path: Path) -> None:
    _, path = tiny_head(tmp_path)
    head = load(path)
    copy = pickle.loads(pickle.dumps(head))  # noqa: S301 (our own bytes, as the pipeline sends them to workers)
    assert np.array_equal(copy.predict_proba(HAPPY + SAD), head.predict_proba(HAPPY + SAD))
    assert copy.text.weights.flags["C_CONTIGUOUS"]


PLAIN = ["le colis part mardi", "la réunion est à dix heures", "the shop opens at nine", "new version out today",
         "rendez-vous place du marché"]  # fmt: skip


def sentiment_head(folder: Path, params: Params | None = None) -> Head:
    rows = [(t, "positive") for t in HAPPY * 2] + [(t, "negative") for t in SAD * 2]
    rows += [(t, "neutral") for t in PLAIN * 2]
    path = folder / "sentiment.csv"
    path.write_text("\n".join(["text,language,sentiment", *(f'"{t}",fr,{label}' for t, label in rows)]) + "\n",
                    encoding="utf-8")  # fmt: skip
    return fit("sentiment", [Part(read(path))], params or Params(c=1.0, embeddings=False))


def test_the_lexicon_scores_are_vader_s_and_neutral_for_a_text_without_its_words() -> None:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    asked = ["I love it, great job!", "this is AWFUL :(", "😢\x00😢"]  # the emoji alone, a NUL in the text
    vader = SentimentIntensityAnalyzer()
    expected = [[s["neg"], s["neu"], s["pos"], s["compound"]] for s in map(vader.polarity_scores, asked)]
    found = lexicon_scores(["le colis part mardi", "", *asked])
    assert found[:2].tolist() == [[0, 1, 0, 0]] * 2
    assert np.allclose(found[2:], expected, atol=1e-6)
    assert found[4, 3] < 0


def test_a_text_part_that_reads_the_lexicon_judges_words_its_training_never_saw(tmp_path: Path) -> None:
    head = sentiment_head(tmp_path, Params(c=1.0, embeddings=False, text_lexicon=True))
    assert head.text_lexicon
    assert head.text.coef.shape[1] == TEXT_WIDTH + 4
    positive = list(head.classes).index("positive")
    wonderful, dreadful = head.predict_proba(["wonderful", "dreadful"])[:, positive]
    assert wonderful > dreadful
    save(head, tmp_path / "head.npz")
    assert np.array_equal(load(tmp_path / "head.npz").predict_proba(HAPPY + SAD), head.predict_proba(HAPPY + SAD))


def reviews_file(folder: Path, rows: list[tuple[str, int]]) -> Path:
    path = folder / "reviews.tsv"
    path.write_text("".join(f"{label}\t{text}\n" for text, label in rows), encoding="utf-8")
    return path


def test_a_two_class_file_is_scored_positive_against_negative_without_the_neutral_class(tmp_path: Path) -> None:
    head = sentiment_head(tmp_path)
    # Mostly plain words with one opinion word: the three-class answer is neutral, the leaning is not.
    leaning = [(f"{PLAIN[0]}, {PLAIN[1]}, {PLAIN[2]}, génial", 1), (f"{PLAIN[0]}, {PLAIN[1]}, {PLAIN[2]}, nul", 0)]
    reviews = read(reviews_file(tmp_path, leaning + [(t, 1) for t in HAPPY] + [(t, 0) for t in SAD]))
    assert "neutral" in head.predict(Batch(reviews.samples))
    scores = score_of(head, reviews)
    assert scores.two_class
    assert scores.accuracy == 100.0
    assert set(scores.confusion) == {"negative", "positive"}
    three = read(tmp_path / "sentiment.csv")
    assert not score_of(head, three).two_class


def test_eval_of_a_two_class_file_says_the_neutral_class_is_ignored(tmp_path: Path) -> None:
    data = reviews_file(tmp_path, [("Une série formidable, des acteurs excellents, je recommande", 1),
                                   ("Scénario creux et dialogues ratés, une vraie déception", 0)])  # fmt: skip
    result = CliRunner().invoke(app, ["models", "eval", "--task", "sentiment", "--data", str(data), "--json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert scores["two_class"] is True
    assert "neutral ignored" in scores["note"]
    assert set(scores["confusion"]) == {"negative", "positive"}
    text = CliRunner().invoke(app, ["models", "eval", "--task", "sentiment", "--data", str(data)])
    assert "neutral ignored" in " ".join(text.output.split())


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def test_models_train_writes_the_installation_s_heads_never_the_package_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PILOTE_HOME", str(tmp_path / "home"))
    package = _digests(MODELS)
    result = CliRunner().invoke(app, ["models", "train", "--task", "toxicity", "--data", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert _digests(MODELS) == package
    own = tmp_path / "home" / "models" / "toxicity.npz"
    assert own.is_file()
    assert own.with_suffix(".md").is_file()
    assert in_force("toxicity") == own
    assert classifiers.head("toxicity").meta["date"] == load(own).meta["date"]
    assert classifiers.model_stamp("toxicity") == hashlib.sha256(own.read_bytes()).hexdigest()[:12]


def test_enrichment_reads_the_installation_s_head_over_the_shipped_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, path = tiny_head(tmp_path)
    monkeypatch.setenv("PILOTE_HOME", str(tmp_path / "home"))
    shipped = classifiers.head("toxicity").predict_proba(SAD)
    (tmp_path / "home" / "models").mkdir(parents=True)
    (tmp_path / "home" / "models" / "toxicity.npz").write_bytes(path.read_bytes())
    texts = [Text(id=i, kind="comment", title=None, text=t, language="fr") for i, t in enumerate(SAD)]
    found = [r["toxicity_probability"] for r in enrich.get(["toxicity"])[0].analyze(texts)]
    assert np.allclose(found, np.round(load(path).predict_proba(SAD)[:, 1], 4))
    assert not np.allclose(found, np.round(shipped[:, 1], 4))
    monkeypatch.setenv("PILOTE_HOME", str(tmp_path / "elsewhere"))
    assert np.allclose(classifiers.head("toxicity").predict_proba(SAD), shipped)
