"""What the store's history (a first comment, bursts: `pilote.traces`) changes in the spam judgement, on real data.

Each corpus that carries authors and times is imported by Pilote's own importers into a fresh SQLite store (so
ingest writes its traces as it does for a real workspace), then its messages are judged by the shipped head
with the spam rules twice: without the store's history (as before) and with it (as enrichment now judges).
Members' corpora (presumed ham, so an upper bound of false positives): the Reddit thread, the Mastodon and
Bluesky posts, the X archive's tweets, the WordPress and Disqus test exports (their unmoderated comments); the
team's four blog fixtures (spam as moderated, members otherwise). Weights were set before this was first run
and no choice reads its output (docs/evaluation.md). UMSAB and Allociné rows have neither authors nor times:
the history cannot fire on them, their figures are those of `bench/eval_spam.py`.

    PYTHONPATH=src python bench/spam_history.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pilote.config import get_settings
from pilote.db import make_engine, migrate
from pilote.enrich import batches, classifiers, spam
from pilote.enrich.base import Text
from pilote.enrich.datasets import shared_folder
from pilote.imports import import_file
from pilote.messages import SPAM_THRESHOLD
from pilote.models import Label, Message
from protocol import record

ROOT = Path(__file__).resolve().parent.parent
HISTORY_CODES = ("burst", "shared_links", "first_comment")


def corpora() -> dict[str, list[Path]]:
    shared = shared_folder()
    return {
        "Reddit thread": [shared / "reddit" / "announcements_n49rw_comments.csv"],
        "Reddit listings": sorted((shared / "reddit").glob("Test*.json")),
        "Mastodon": sorted((shared / "mastodon").glob("*.json")),
        "Bluesky": sorted((shared / "bluesky").glob("*.json")),
        "X archive (owner's tweets)": [shared / "x_archive" / "tweets.js"],
        "WordPress test exports": sorted((shared / "wordpress_wxr").glob("*.xml")),
        "Disqus test exports": sorted((shared / "disqus").glob("*.xml")),
        "Team's blog fixtures": sorted((ROOT / "tests" / "data" / "blogs").glob("*.xml")),
    }


def store(paths: list[Path], home: Path) -> Engine:
    """A fresh SQLite store in `home` holding what Pilote's importers read of these files (unreadable ones
    skipped)."""
    engine = make_engine(get_settings(home=home, database_url=None))
    migrate(engine)
    for path in paths:
        try:
            import_file(engine, path)
        except Exception as error:  # a listing of accounts, say: not messages
            print(f"  skipped {path.name}: {error}", file=sys.stderr)
    return engine


def judged(engine: Engine) -> list[tuple[float, float, list[str], str | None]]:
    """Per message: probability without the history, with it, the history's reasons, its moderation (if any)."""
    head = classifiers.head("spam")
    moderation = Label.name == "status"
    with Session(engine) as session:
        conn = session.connection()
        rows = conn.execute(select(Message.id, Label.value).outerjoin(Label, (Label.message_id == Message.id)
                                                                      & moderation)).all()  # fmt: skip
        status = {message_id: value for message_id, value in rows}
        ids = sorted(status)
        found = []
        for start in range(0, len(ids), 1000):
            part = ids[start : start + 1000]
            read = batches.read(conn, part, ())
            texts = classifiers.with_history(conn, classifiers.context(conn, [Text(*row) for row in read.rows]))
            features = classifiers.batch(texts)
            teams = [t.team for t in texts]
            before = spam.judge(head, features, teams)
            after = spam.judge(head, features, teams, [t.history for t in texts])
            for t, b, a in zip(texts, before, after, strict=True):
                codes = [code for code, _ in a.reasons if code in HISTORY_CODES]
                found.append((b.probability, a.probability, codes, status[t.id]))
    return found


def line(name: str, rows: list[tuple[float, float, list[str], str | None]]) -> str:
    spam_rows = [r for r in rows if r[3] in ("spam",)]
    members = [r for r in rows if r[3] not in ("spam", "trash")]
    flagged = [sum(r[i] >= SPAM_THRESHOLD for r in members) for i in (0, 1)]
    caught = [sum(r[i] >= SPAM_THRESHOLD for r in spam_rows) for i in (0, 1)]
    fired = sum(bool(r[2]) for r in rows)
    share = [f"{n} ({100 * n / max(len(members), 1):.1f} %)" for n in flagged]
    spams = f"{caught[0]} → {caught[1]} of {len(spam_rows)}" if spam_rows else "none moderated"
    return f"| {name} | {len(members)} | {share[0]} | {share[1]} | {spams} | {fired} |"


def main() -> None:
    lines = [
        "| corpus | members' messages | flagged without history | flagged with it | moderated spam caught "
        "| messages where a history rule fired |",
        "|---|---|---|---|---|---|",
    ]
    for name, paths in corpora().items():
        with tempfile.TemporaryDirectory(prefix="pilote-spam-history-") as home:
            engine = store(paths, Path(home))
            lines.append(line(name, judged(engine)))
            engine.dispose()
        print(lines[-1], file=sys.stderr)
    print(record("Spam: the store's history (first comment, bursts) on real members' messages and blog fixtures",
                 lines))  # fmt: skip


if __name__ == "__main__":
    main()
