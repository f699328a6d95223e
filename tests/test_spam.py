from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from factories import item, target
from pilote.enrich import classifiers
from pilote.enrich.datasets import read
from pilote.enrich.features import Batch, Sample, author_tokens
from pilote.enrich.heads import load, path_of
from pilote.enrich.pipeline import run
from pilote.enrich.spam import PHRASES, TOP, judge, phrase, rules
from pilote.enrich.training import batch_of, predict
from pilote.imports import import_file
from pilote.ingest import write_batch
from pilote.messages import SPAM_THRESHOLD
from pilote.models import Author, Enrichment, Label, Message, TeamAccount, extras

BLOGS = Path(__file__).parent / "data" / "blogs"
# Paraphrases of the post that the rules, written before these blogs were scored, do not catch: one restates
# the post in other words (a share of its words below PARAPHRASE_SHARE), one restates the post's own "but".
# A third (Julie), missed at the precision-first prior (0.02) because the head reads its civic words as a
# member's, is caught since a first comment doubles the paraphrase rule's weight (docs/models.md).
KNOWN_MISSES = {"Martin", "Kevin"}
# Members flagged by the shipped model, each a short generic thanks ("Great article, thank you!") whose words the
# head learnt as spam from the team's blog file, where such thanks come mostly from shops: left as found rather
# than tuned away (docs/models.md, "Blogs"). A member's other comments must still pass.
KNOWN_FALSE_POSITIVES = {
    ("Lou", "Merci pour ce partage"),
    ("Meg", "Stunning photos"),
    ("Priya", "Great article, thank you"),
}


def judged(engine: Engine, path: Path) -> list[tuple[str, str, float, list[list[object]], str]]:
    """Import a blog and run the spam analyzer: (author, text, probability, reasons, moderation status)."""
    import_file(engine, path)
    run(engine, [classifiers.SPAM], workspace_id=1)
    status = Label.name == "status"
    query = (
        select(Author.display_name, Message.text, Message.spam_probability, Enrichment.value, Label.value)
        .join(Author, Author.id == Message.author_id)
        .join(Enrichment, Enrichment.message_id == Message.id)
        .join(Label, (Label.message_id == Message.id) & status)
        .where(Message.kind.in_(("comment", "reply")))
    )
    with Session(engine) as session:
        rows = session.execute(query).all()
    return [(a or "", t, p, extras(v, "spam").get("reasons", []), s) for a, t, p, v, s in rows]


@pytest.mark.parametrize("blog", sorted(p.name for p in BLOGS.glob("*.xml")))
def test_the_shipped_model_catches_seo_spam_on_blogs_it_never_saw_and_flags_no_member(
    sqlite_engine: Engine, blog: str
) -> None:
    rows = judged(sqlite_engine, BLOGS / blog)
    spam = [(a, round(p, 3)) for a, _, p, _, s in rows if s == "spam"]
    members = [(a, t, round(p, 3)) for a, t, p, _, s in rows if s != "spam"]
    assert spam
    assert members
    assert [s for s in spam if s[1] < SPAM_THRESHOLD and s[0] not in KNOWN_MISSES] == []
    flagged = [m for m in members if m[2] >= SPAM_THRESHOLD]
    assert [m for m in flagged if not any(m[0] == a and m[1].startswith(t) for a, t in KNOWN_FALSE_POSITIVES)] == []


@pytest.mark.realdata
@pytest.mark.parametrize(
    "corpus",
    ["sentiment_tweets/french/val_text.txt", "sentiment_tweets/english/val_text.txt", "sentiment_allocine_tv/dev.tsv"],
)
def test_the_shipped_model_flags_at_most_one_member_in_a_hundred_on_members_messages_it_never_saw(
    shared: Path, corpus: str
) -> None:
    data = read(shared / corpus)  # real people's tweets and reviews: presumed not spam
    flagged = predict(load(path_of("spam")), batch_of(data)).count("spam")
    assert flagged <= len(data.texts) / 100


def test_each_judgement_keeps_its_strongest_reasons_in_the_shape_the_cockpit_reads(sqlite_engine: Engine) -> None:
    rows = judged(sqlite_engine, BLOGS / "velo_fr.xml")
    for _, _, _, reasons, _ in rows:
        assert 0 < len(reasons) <= TOP
        assert all(isinstance(code, str) and isinstance(weight, float) for code, weight in reasons)
        assert [abs(float(w)) for _, w in reasons] == sorted((abs(float(w)) for _, w in reasons), reverse=True)  # type: ignore[arg-type]
    shop = next(r for a, _, _, r, _ in rows if a == "meilleur-velo-electrique.fr")
    assert {"name_domain", "name_commerce"} <= {code for code, _ in shop}


def test_a_name_made_of_shopping_words_or_a_web_address_is_a_rule_an_ordinary_name_is_not() -> None:
    assert [c for c, _ in rules(Sample("Merci !", "Chaussures running pas cher"))] == ["name_commerce"]
    assert [c for c, _ in rules(Sample("Thanks!", "cheap-cookware-online.com"))] == ["name_domain", "name_commerce"]
    for name in ("Jean de la Fontaine", "kiki du 73", "le vieux cycliste", "Mme Dupuis", "anna", "Greg W."):
        assert rules(Sample("Merci pour l'article, très clair.", name)) == []


def test_a_website_whose_address_is_made_of_shopping_words_is_a_sign_the_head_reads_a_member_s_is_not() -> None:
    shop = author_tokens(Sample("Belles boucles.", "Léa", "https://chaussures-discount.example/"))
    assert {"site:yes", "site:is-commerce"} <= set(shop)
    for site in ("https://loutricote.example", "https://rando-meg.example", "https://jean-dupont.example"):
        assert "site:is-commerce" not in author_tokens(Sample("Merci !", "Lou", site))
    assert "site:is-commerce" in author_tokens(Sample("Merci !", "Lou", "https://credit-pas-cher.example"))


def test_a_handle_a_platform_gives_is_no_web_address_the_author_chose() -> None:
    profile = "https://bsky.app/profile/lea-martin.bsky.social"
    assert rules(Sample("Great thread, thanks.", "lea-martin.bsky.social", profile)) == []
    assert [
        c for c, _ in rules(Sample("Great thread!", "lea-martin.bsky.social", "https://lea-martin.bsky.social"))
    ] == ["name_domain"]
    assert [c for c, _ in rules(Sample("Great!", "velo-pas-cher.fr", "https://bsky.app/profile/lea.bsky.social"))] == [
        "name_domain",
        "name_commerce",
    ]


def test_a_paraphrase_of_the_post_counts_only_without_engagement_and_with_a_website() -> None:
    post = "Red lentils cook in twenty minutes and need no soaking; fry cumin and mustard seeds in ghee first."
    text = "Red lentils cook in twenty minutes and need no soaking, then fry cumin and mustard seeds in ghee " \
           "first. Thanks for sharing this red lentils recipe with cumin and mustard seeds."  # fmt: skip
    assert [c for c, _ in rules(Sample(text, "Sarah", "https://spices.example", post))] == ["paraphrase"]
    assert rules(Sample(text, "Sarah", "", post)) == []
    assert rules(Sample(text + " Did I miss the onion?", "Sarah", "https://spices.example", post)) == []
    assert rules(Sample(text.replace("Thanks", "But I think"), "Sarah", "https://spices.example", post)) == []


def test_the_organisation_s_own_messages_are_never_spam(engine: Engine) -> None:
    t = target(engine)
    with engine.begin() as conn:
        write_batch(
            conn, t, [item("own", "Promo code SPRING: subscribe and check out our new shop http://shop.example")]
        )
    with Session(engine) as session, session.begin():
        message = session.scalars(select(Message)).one()
        session.add(TeamAccount(author_id=message.author_id, workspace_id=t.workspace_id, origin="user"))
    run(engine, [classifiers.SPAM], workspace_id=t.workspace_id)
    with Session(engine) as session:
        probability, value = session.execute(select(Message.spam_probability, Enrichment.value).join(
            Enrichment, Enrichment.message_id == Message.id)).one()  # fmt: skip
    assert probability < 0.01
    assert extras(value, "spam")["reasons"][0][0] == "team_account"


def test_every_reason_code_reads_in_french_and_english() -> None:
    head = classifiers.head("spam")
    batch = Batch([Sample("Subscribe to my channel http://a.example", "Best VPN Deals", "https://a.example")])
    codes = {code for j in judge(head, batch) for code, _ in j.reasons} | {"team_account", "paraphrase"}
    assert codes <= set(PHRASES)
    assert phrase("name_domain", "fr") == "le nom de l'auteur est une adresse web"
    assert phrase("name_domain", "en") == "the author's name is a web address"
    assert all(phrase(code, "fr") != phrase(code, "en") for code in PHRASES)
