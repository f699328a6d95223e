"""Running the analyzers over the store: only new or edited messages, or those an analyzer's new version must redo.

One pass over the messages for all analyzers: each chunk is read once, analysed by every analyzer that
needs it (in registry order, so that keyphrases see the language found just before), and written back
in one transaction. The analysis runs in worker processes when there is enough to do; the database is
only ever touched by the calling process.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, select

from pilote import rollups, traces
from pilote.enrich import batches
from pilote.enrich.base import Analyzer, Result, Text
from pilote.models import Enrichment, Message, json_object

CHUNK = 2000
PARALLEL_FROM = 4 * CHUNK  # below this, starting worker processes costs more than it saves
Progress = Callable[[str, int, int], None]
Plan = dict[str, list[int]]  # analyzer → positions in the chunk it must analyse
Done = dict[str, tuple[list[Result], float]]  # analyzer → results, seconds spent


@dataclass(slots=True)
class EnrichReport:
    """Per analyzer: how many messages it analysed and the seconds it spent; `elapsed`: the whole run;
    `workers`: the processes that analysed (1: this one)."""

    analysed: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    elapsed: float = 0.0
    workers: int = 1
    remaining: int = 0  # messages left for a later run by `at_most`
    rejudged: list[int] = field(default_factory=list)  # messages judged again for what arrived before them
    rejudging: float = 0.0  # seconds spent finding and judging them again (part of `elapsed`)


def default_workers() -> int:
    """Two worker processes where two cores are free to run them."""
    return min(2, os.cpu_count() or 1)


def _stale_by_analyzer(
    conn: Connection, analyzers: Sequence[Analyzer], versions: dict[str, str], workspace_id: int,
    since: datetime | None, force: bool, new_only: bool = False,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:  # fmt: skip
    """The ids, sorted, each analyzer must analyse: those its current version has not seen (all with `force`;
    an edited message has no enrichment row any more, `ingest`; with `new_only`, only messages never analysed);
    and, for the analyzers that read the store's history, those it never saw at all (none with `force`): what
    arrived since it last ran. One pass over the workspace's ids and their rows, which the indexes answer without
    reading the messages; each distinct set of versions is read once."""
    query = (
        select(Message.id, Enrichment.versions)
        .outerjoin(Enrichment, Enrichment.message_id == Message.id)
        .where(Message.workspace_id == workspace_id)
    )
    if new_only:
        query = query.where(Enrichment.message_id.is_(None))
    if since is not None:
        query = query.where(Message.created_at >= since)
    seen: dict[str | None, list[int]] = {}  # versions (None: none) → ids
    for message_id, stored in conn.execute(query):
        seen.setdefault(None if force else stored, []).append(message_id)
    stale: dict[str, list[np.ndarray]] = {a.name: [] for a in analyzers}
    arrived: dict[str, list[np.ndarray]] = {a.name: [] for a in analyzers if a.reads_history and not force}
    for holding, ids in seen.items():
        known = json_object(holding)  # analyzer → version
        for a in analyzers:
            if known.get(a.name) != versions[a.name]:
                stale[a.name].append(np.array(ids, dtype=np.int64))
            if a.name in arrived and a.name not in known:
                arrived[a.name].append(np.array(ids, dtype=np.int64))
    return _sorted(stale), _sorted(arrived)


def _sorted(parts: dict[str, list[np.ndarray]]) -> dict[str, np.ndarray]:
    return {name: np.sort(np.concatenate([np.zeros(0, dtype=np.int64), *arrays])) for name, arrays in parts.items()}


def _plan(ids: np.ndarray, stale: dict[str, np.ndarray]) -> Plan:
    """For one chunk of ids, the positions each analyzer must analyse (both arrays sorted)."""
    plan: Plan = {}
    for name, wanted in stale.items():
        if not len(wanted):
            continue
        at = np.minimum(np.searchsorted(wanted, ids), len(wanted) - 1)
        positions = np.flatnonzero(wanted[at] == ids)
        if len(positions):
            plan[name] = positions.tolist()
    return plan


# What an analyzer finds that later analyzers of the same chunk read from their Text: result key → field.
CARRIED = {"language": "language", "_vector": "vector"}
LANGUAGE = batches.STORED - 1  # the language's place in a row


@dataclass(frozen=True, slots=True)
class Work:
    """One chunk to analyse: its rows, the positions each analyzer takes, and texts its hooks gave."""

    rows: list[batches.Row]
    plan: Plan
    prepared: dict[str, Sequence[Text]]


def analyse_chunk(analyzers: Sequence[Analyzer], work: Work) -> Done:
    """Run each planned analyzer on its texts; what one finds (CARRIED) is what the next ones see."""
    rows = list(work.rows)  # the language found is written into the row: the cheapest way to pass it on
    found: dict[int, dict[str, Any]] = {}  # position in the chunk → the other carried fields
    shared: dict[int, tuple[Text, Text]] = {}  # position → a prepared text, and it with what was found so far
    done: Done = {}
    for analyzer in analyzers:
        where = work.plan.get(analyzer.name)
        if where is None:
            continue
        prepared = work.prepared.get(analyzer.name)
        if prepared is not None:
            texts = _refreshed(where, prepared, rows, found, shared)
        elif found:
            texts = [Text(*rows[i], **found.get(i, {})) for i in where]
        else:
            texts = [Text(*rows[i]) for i in where]
        started = time.perf_counter()
        results = analyzer.analyze(texts)
        done[analyzer.name] = (results, time.perf_counter() - started)
        if _carry(rows, found, where, results):
            shared.clear()
    return done


def _refreshed(where: list[int], prepared: Sequence[Text], rows: list[batches.Row], found: dict[int, dict[str, Any]],
               shared: dict[int, tuple[Text, Text]]) -> list[Text]:  # fmt: skip
    """Prepared texts with the language and fields found so far; a text several analyzers share is redone once."""
    texts = []
    for i, t in zip(where, prepared, strict=True):
        known = shared.get(i)
        if known is None or known[0] is not t:
            known = shared[i] = (t, _with_found(t, rows[i][LANGUAGE], found.get(i)))
        texts.append(known[1])
    return texts


def _with_found(t: Text, language: str | None, found: dict[str, Any] | None) -> Text:
    if found:
        return replace(t, language=language, **found)
    if language == t.language:
        return t
    return Text(t.id, t.kind, t.title, t.text, t.author, t.author_url, language, t.workspace_id, t.parent, t.vector,
                t.tuned, t.team, t.history)  # fmt: skip


def _carry(rows: list[batches.Row], found: dict[int, dict[str, Any]], where: list[int], results: list[Result]) -> bool:
    """Pass on what the results found (CARRIED); whether there was anything."""
    keys = [key for key in CARRIED if results and key in results[0]]
    for key in keys:
        for i, result in zip(where, results, strict=True):
            if key == "language":
                rows[i] = (*rows[i][:LANGUAGE], result[key])
            else:
                found.setdefault(i, {})[CARRIED[key]] = result[key]
    return bool(keys)


# --- worker processes --------------------------------------------------------------------------------------

_WORKER_ANALYZERS: tuple[Analyzer, ...] = ()
Submit = Callable[[Work], Callable[[], Done]]


def _start_worker(analyzers: tuple[Analyzer, ...]) -> None:
    global _WORKER_ANALYZERS
    _WORKER_ANALYZERS = analyzers
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    # A handler the parent set (a job consumer's, say) must not keep the pool from terminating its workers.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    threadpool_limits(1)  # one BLAS thread per process: the processes are the parallelism


def _work(work: Work) -> Done:
    return analyse_chunk(_WORKER_ANALYZERS, work)


def _ready(done: Done) -> Callable[[], Done]:
    return lambda: done


def _warm_up(analyzers: Sequence[Analyzer]) -> None:
    """Load every model before forking, so that workers share its memory instead of loading their own."""
    for analyzer in analyzers:
        # Only an optimisation: an analyzer that needs its `prepare` context may refuse a bare text; then
        # each worker loads its model itself, and any real error shows on the first real chunk.
        with contextlib.suppress(Exception):
            analyzer.analyze([Text(id=0, kind="comment", title=None, text="Bonjour, hello", language="fr")])


@contextmanager
def _executor(analyzers: Sequence[Analyzer], workers: int, report: EnrichReport) -> Iterator[Submit]:
    """A way to run `analyse` on a chunk: in worker processes (forked, models loaded once) or in this one.

    Forking a process that runs other threads (a web server's, a browser driver's) can copy a lock one of
    them holds and hang the child for ever: then the chunks run in this process, only slower.
    """
    single = threading.active_count() == 1
    if workers <= 1 or not single or "fork" not in multiprocessing.get_all_start_methods():
        yield lambda work: _ready(analyse_chunk(analyzers, work))
        return
    _warm_up(analyzers)
    report.workers = workers
    context = multiprocessing.get_context("fork")
    # The workers' garbage collector would otherwise touch, and so copy, every inherited object (the run
    # unfreezes when it ends, `_collections_spared`).
    gc.freeze()
    with context.Pool(workers, initializer=_start_worker, initargs=(tuple(analyzers),)) as pool:
        yield lambda work: pool.apply_async(_work, (work,)).get
        pool.close()  # done: the workers finish and leave (an error instead terminates them, on exit)
        pool.join()


@contextmanager
def _collections_spared() -> Iterator[None]:
    """Leave what exists before the run out of garbage collections until it ends (`gc.freeze`).

    A run allocates millions of short-lived objects, which trigger collections; a full one would walk
    every module, model and library object of the process each time, for no garbage.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


# --- the run -----------------------------------------------------------------------------------------------


def _public(results: list[Result]) -> list[Result]:
    """Results without their private ("_") values, which only `keep` sees."""
    if not any(key.startswith("_") for key in set().union(*results)):
        return results
    return [{k: v for k, v in r.items() if not k.startswith("_")} for r in results]


@dataclass(frozen=True, slots=True)
class _Job:
    chunk: batches.Chunk
    work: Work
    result: Callable[[], Done]


@dataclass(slots=True)
class _Run:
    engine: Engine
    analyzers: Sequence[Analyzer]
    versions: dict[str, str]
    stale: dict[str, np.ndarray]
    progress: Progress | None
    report: EnrichReport

    def columns(self) -> list[str]:
        return list(dict.fromkeys(column for a in self.analyzers for column in a.columns))

    def save(self, job: _Job) -> None:
        """Write one chunk's results in one transaction: an interrupted run resumes after it."""
        done = job.result()
        analysed = [analyzer for analyzer in self.analyzers if analyzer.name in done]
        outcomes = []
        with self.engine.begin() as conn:
            for analyzer in analysed:
                results = done[analyzer.name][0]
                where = job.work.plan[analyzer.name]
                if analyzer.keep is not None:
                    texts = job.work.prepared.get(analyzer.name) or [Text(*job.chunk.rows[i]) for i in where]
                    analyzer.keep(conn, texts, results)
                version = self.versions[analyzer.name]
                outcomes.append(batches.Outcome(analyzer.name, version, analyzer.columns, where, _public(results)))
            batches.write(conn, job.chunk, outcomes)
            rollups.mark_hours(conn, job.chunk.hours)
        for analyzer in analysed:
            results, seconds = done[analyzer.name]
            self.count(analyzer.name, len(results), seconds)

    def start(self, conn: Connection, ids: list[int], submit: Submit) -> _Job:
        """Read a chunk, let the analyzers' hooks add context, and hand it to the analysis."""
        chunk = batches.read(conn, ids, self.columns())
        plan = _plan(np.fromiter((row[0] for row in chunk.rows), dtype=np.int64), self.stale)
        work = Work(chunk.rows, plan, _prepare(conn, self.analyzers, chunk.rows, plan))
        return _Job(chunk, work, submit(work))

    def count(self, name: str, analysed: int, seconds: float) -> None:
        self.report.analysed[name] += analysed
        self.report.seconds[name] += seconds
        if self.progress is not None:
            self.progress(name, self.report.analysed[name], len(self.stale[name]))


def _analyse(state: _Run, todo: np.ndarray, submit: Submit, parallel: int) -> None:
    """Analyse `todo` chunk after chunk, each saved as soon as it is done, while the next ones are analysed."""
    pending: deque[_Job] = deque()
    for number, start in enumerate(range(0, len(todo), CHUNK)):
        with state.engine.connect() as conn:
            pending.append(state.start(conn, todo[start : start + CHUNK].tolist(), submit))
        if len(pending) > (parallel if parallel > 1 else 0):  # keep every worker busy while this one writes
            state.save(pending.popleft())
            if number <= parallel:  # and so is what the first chunk loaded: models, libraries (once only:
                gc.freeze()  # later chunks' cyclic garbage must stay collectable, a run can be long)
    while pending:
        state.save(pending.popleft())


def _judge_again(state: _Run, arrived: dict[str, np.ndarray], todo: np.ndarray) -> None:
    """With each analyzer that reads the store's history, judge again the messages it judged before (its current
    version) whose history the arrivals it just judged change (`traces.later`); those of this run already saw them.
    Only the history changed, not the messages: nothing it judges again can change another's history in turn."""
    again: dict[str, np.ndarray] = {}
    with state.engine.connect() as conn:
        for name, ids in arrived.items():
            if len(ids):
                later = np.array(sorted(traces.later(conn, ids.tolist())), dtype=np.int64)
                later = later[~np.isin(later, todo)]
                again[name] = np.array(_judged_by(conn, later.tolist(), name, state.versions[name]), dtype=np.int64)
    again = {name: ids for name, ids in again.items() if len(ids)}
    if not again:
        return
    readers = [a for a in state.analyzers if a.name in again]
    ids = np.unique(np.concatenate(list(again.values())))
    state.report.rejudged = ids.tolist()
    _analyse(_Run(state.engine, readers, state.versions, again, None, state.report), ids,
             lambda work: _ready(analyse_chunk(readers, work)), 1)  # fmt: skip


def _judged_by(conn: Connection, ids: list[int], name: str, version: str) -> list[int]:
    """Those of these messages that this version of the analyzer has seen, in id order."""
    found = []
    for start in range(0, len(ids), CHUNK):
        rows = batches.of_ids(conn, "SELECT m.id, e.versions FROM message m JOIN enrichment e ON e.message_id = m.id",
                              ids[start : start + CHUNK], order="ORDER BY m.id")  # fmt: skip
        found += [row[0] for row in rows if json_object(row[1]).get(name) == version]
    return found


def _prepare(
    conn: Connection, analyzers: Sequence[Analyzer], rows: list[batches.Row], plan: Plan
) -> dict[str, Sequence[Text]]:
    """The texts of the analyzers with hooks: a shared `context` hook runs once, on all the positions that need it."""
    hooked = [a for a in analyzers if a.name in plan and (a.context is not None or a.prepare is not None)]
    contexts: dict[Any, dict[int, Text]] = {}
    for hook in {id(a.context): a.context for a in hooked if a.context is not None}.values():
        positions = sorted({i for a in hooked if a.context is hook for i in plan[a.name]})
        contexts[hook] = dict(zip(positions, hook(conn, [Text(*rows[i]) for i in positions]), strict=True))
    prepared: dict[str, Sequence[Text]] = {}
    for a in hooked:
        where = plan[a.name]
        context = contexts.get(a.context)
        texts = [context[i] for i in where] if context is not None else [Text(*rows[i]) for i in where]
        prepared[a.name] = a.prepare(conn, texts) if a.prepare is not None else texts
    return prepared


def run(
    engine: Engine,
    analyzers: Sequence[Analyzer],
    *,
    workspace_id: int,
    since: datetime | None = None,
    force: bool = False,
    progress: Progress | None = None,
    workers: int | None = None,
    new_only: bool = False,
    at_most: int | None = None,
) -> EnrichReport:
    """Analyse what needs it, in chunks committed one by one, in worker processes when it is worth it; with
    `new_only`, only the messages never analysed; with `at_most`, that many messages at most (the newest first),
    the others left for a later run (`remaining`)."""
    started = time.perf_counter()
    versions = {a.name: a.current_version() for a in analyzers}
    with engine.connect() as conn:
        stale, arrived = _stale_by_analyzer(conn, analyzers, versions, workspace_id, since, force, new_only)
    todo = np.unique(np.concatenate([np.zeros(0, dtype=np.int64), *stale.values()]))
    remaining = 0
    if at_most is not None and len(todo) > at_most:
        remaining, todo = len(todo) - at_most, todo[-at_most:]
        stale = {name: ids[np.isin(ids, todo)] for name, ids in stale.items()}
    report = EnrichReport(analysed=dict.fromkeys(stale, 0), seconds=dict.fromkeys(stale, 0.0), remaining=remaining)
    for name, ids in stale.items():
        if progress is not None:
            progress(name, 0, len(ids))
    parallel = (default_workers() if workers is None else workers) if len(todo) >= PARALLEL_FROM else 1
    state = _Run(engine, analyzers, versions, stale, progress, report)
    with _collections_spared():  # (`_analyse` freezes what the first chunks loaded: unfrozen once both passes end)
        with _executor(analyzers, parallel, report) as submit:
            _analyse(state, todo, submit, parallel)
        again = time.perf_counter()
        _judge_again(state, {name: ids[np.isin(ids, todo)] for name, ids in arrived.items()}, todo)
        report.rejudging = time.perf_counter() - again
    with engine.begin() as conn:  # the dashboards' rollups, once for the whole run
        rollups.refresh_dirty(conn)
    report.elapsed = time.perf_counter() - started
    return report
