"""The contract of an analyzer: a named, versioned function over a batch of messages."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pilote.traces import History


@dataclass(frozen=True, slots=True)
class Text:
    """What an analyzer may read of a message."""

    id: int
    kind: str
    title: str | None
    text: str
    author: str | None = None
    author_url: str | None = None
    language: str | None = None  # as stored, or as found by the language analyzer earlier in the same run
    # Filled by an analyzer's `prepare` hook when it needs them (the heads): see Analyzer.
    workspace_id: int | None = None
    parent: str | None = None  # text of the message this one answers, when stored
    vector: bytes | None = None  # cached sentence embedding (float16 bytes, enrich/embeddings.py)
    # The workspace's fine-tuned head for the analyzer, if any (pickled once per chunk for worker processes).
    tuned: Any = field(default=None, compare=False, hash=False, repr=False)
    team: bool = False  # written by one of the organisation's accounts (models.TeamAccount)
    history: History | None = None  # what the store held before it (the spam analyzer's `prepare`: pilote.traces)

    def __reduce__(self) -> tuple[type[Text], tuple[Any, ...]]:
        # Texts travel to worker processes by the thousand: one tuple each, not the generic per-field state.
        return Text, (self.id, self.kind, self.title, self.text, self.author, self.author_url, self.language,
                      self.workspace_id, self.parent, self.vector, self.tuned, self.team, self.history)  # fmt: skip


Result = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Analyzer:
    """`analyze` returns one result per text: message columns it owns (`columns`) and extra values.

    Bump `version` whenever the output for the same text may change: messages analysed by another
    version are analysed again, and only those. `stamp`, when given, identifies what the code depends on
    (a trained model's file), so retraining re-analyses without a code change.
    """

    name: str
    version: str
    columns: tuple[str, ...]
    analyze: Callable[[Sequence[Text]], list[Result]]
    stamp: Callable[[], str] | None = None
    # Optional hooks, run by the process that holds the database: `context` and `prepare`, on the chunk's
    # read connection, return the texts with what `analyze` needs beyond the message. `context` is looked up
    # once per chunk for all the analyzers that share the same hook (the heads: workspace, parent post, cached
    # vector); `prepare` then runs for this analyzer alone (a workspace's fine-tuned head). `keep`, in the
    # chunk's write transaction, stores what the analyzer keeps in a table of its own. Result keys starting
    # with "_" are for `keep` only and are not stored as JSON.
    prepare: Callable[[Any, Sequence[Text]], Sequence[Text]] | None = None
    keep: Callable[[Any, Sequence[Text], list[Result]], None] | None = None
    context: Callable[[Any, Sequence[Text]], Sequence[Text]] | None = None
    # Whether its results depend on what the store held before each message (`pilote.traces.history`): then a
    # message stored after newer ones makes the run judge those again (`traces.later`), `pipeline.run`.
    reads_history: bool = False

    def current_version(self) -> str:
        """The version recorded with each result: the code's, plus the stamp of its model if any."""
        return f"{self.version}+{self.stamp()}" if self.stamp is not None else self.version
