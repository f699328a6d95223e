"""Language identification measured on text its rules were not tuned on. Prints a Markdown table.

    .venv/bin/python bench/language.py              # every set below
    .venv/bin/python bench/language.py --errors 20  # and up to 20 misclassified 5+ word texts per set

Sets: the UMSAB tweets' validation splits (French, English), Allociné's dev split (French), the three
YouTube spam files (taken as English: the collection is mostly English, so every "error" there is
listed for a person to check with --errors), and the team's own sentences in data/language.csv
(es, de, it, pt, nl). A text's words are counted after removing links, mentions and hashtags; a text
with 5 words or more counts towards accuracy (`und` counts as wrong), 1 to 3 words towards the `und` rate.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pilote.enrich.language import UNDETERMINED, clean, detect

ROOT = Path(__file__).resolve().parent.parent
Example = tuple[str, str]  # gold language, text


def shared() -> Path:
    """The third-party data folder (PILOTE_SHARED_DATA, else ../shared/data beside the repository)."""
    return Path(os.environ.get("PILOTE_SHARED_DATA") or ROOT.parent / "shared" / "data")


def tweets(language: str, folder: str) -> Iterator[Example]:
    path = shared() / "sentiment_tweets" / folder / "val_text.txt"
    yield from ((language, line.rstrip("\n")) for line in path.open(encoding="utf-8"))


def allocine() -> Iterator[Example]:
    path = shared() / "sentiment_allocine_tv" / "dev.tsv"
    yield from (("fr", line.rstrip("\n").split("\t", 1)[1]) for line in path.open(encoding="utf-8"))


def youtube() -> Iterator[Example]:
    for path in sorted((shared() / "youtube_spam").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            yield from (("en", row["CONTENT"]) for row in csv.DictReader(handle))


def team() -> Iterator[Example]:
    with (ROOT / "data" / "language.csv").open(encoding="utf-8", newline="") as handle:
        yield from ((row["language"], row["text"]) for row in csv.DictReader(handle))


SETS = {
    "UMSAB tweets fr (validation)": lambda: tweets("fr", "french"),
    "UMSAB tweets en (validation)": lambda: tweets("en", "english"),
    "Allociné fr (dev)": allocine,
    "YouTube comments, taken as en": youtube,
    "team sentences es/de/it/pt/nl": team,
}


def words(text: str) -> int:
    """Words with at least one letter, once links, mentions and hashtags are gone."""
    return sum(1 for word in clean(text).split() if any(c.isalpha() for c in word))


def measure(examples: list[Example], show: int) -> dict[str, Any]:
    long_right = long_total = short_und = short_total = short_right = 0
    confusions: Counter[tuple[str, str]] = Counter()
    for gold, text in examples:
        found, count = detect(text), words(text)
        if count >= 5:
            long_total += 1
            long_right += found == gold
            if found != gold:
                confusions[(gold, found)] += 1
                if show > 0:
                    show -= 1
                    print(f"    {gold}→{found}: {text[:100]!r}", file=sys.stderr)
        elif 1 <= count <= 3:
            short_total += 1
            short_und += found == UNDETERMINED
            short_right += found == gold
    answered = short_total - short_und
    return {
        "n5": long_total, "acc5": 100 * long_right / max(long_total, 1), "n13": short_total,
        "und13": 100 * short_und / max(short_total, 1), "right13": 100 * short_right / max(answered, 1),
        "top": ", ".join(f"{g}→{f} {n}" for (g, f), n in confusions.most_common(3)),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", type=int, default=0, help="show up to N errors per set on stderr")
    args = parser.parse_args()
    print("| set | texts of 5+ words | accuracy (5+ words) | main confusions | texts of 1–3 words | `und` (1–3) "
          "| right when answered (1–3) |")  # fmt: skip
    print("|---|---:|---:|---|---:|---:|---:|")
    totals = Counter[str]()
    for name, load in SETS.items():
        print(f"  {name}", file=sys.stderr)
        r = measure(list(load()), args.errors)
        totals["n5"] += int(r["n5"])
        totals["right5"] += round(r["acc5"] * r["n5"] / 100)
        totals["n13"] += int(r["n13"])
        totals["und13"] += round(r["und13"] * r["n13"] / 100)
        totals["right13"] += round(r["right13"] * (r["n13"] - round(r["und13"] * r["n13"] / 100)) / 100)
        print(f"| {name} | {r['n5']:,} | {r['acc5']:.1f} % | {r['top'] or '—'} | {r['n13']:,} | {r['und13']:.0f} % "
              f"| {r['right13']:.0f} % |")  # fmt: skip
    print(f"\nAll sets, 5+ words: {100 * totals['right5'] / totals['n5']:.1f} % of {totals['n5']:,} texts right.")
    answered = totals["n13"] - totals["und13"]
    print(
        f"All sets, 1–3 words: {100 * totals['und13'] / totals['n13']:.0f} % `und` of {totals['n13']:,} texts; "
        f"{100 * totals['right13'] / max(answered, 1):.0f} % right of the {answered:,} answered."
    )


if __name__ == "__main__":
    main()
