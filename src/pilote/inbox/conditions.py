"""An inbox rule's JSON, checked strictly, and compiled once into a Python predicate.

A rule holds conditions (all must hold; a group `{"any": [...]}` holds when one of its conditions does) and actions
applied in order. Every problem is an `Invalid` naming the part of the rule at fault (`RuleError.field`: `name`,
`conditions.2`, `actions.0`), so that a form shows it next to the field. See docs/inbox.md, "Rules".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pilote.errors import Invalid
from pilote.inbox import PRIORITIES, STATUSES
from pilote.inbox.items import clean_tag

MAX_CONDITIONS = 8  # Agorapulse's limits: a rule a person can read at a glance
MAX_ACTIONS = 6
MAX_NAME = 200
MAX_WORDS = 50
CHOICES = ("channel", "source", "language", "sentiment", "intent", "reason", "kind", "author")
PROBABILITIES = ("spam", "toxicity")
KEYS = (*CHOICES, *PROBABILITIES, "keywords")
SENTIMENTS = ("positive", "neutral", "negative")
INTENTS = ("question", "complaint", "praise", "suggestion", "other")  # the intent head's classes (enrich/datasets.py)
REASONS = ("question", "complaint", "negative", "spam", "toxic", "reply", "mention", "comment")  # inbox/intake.py
LEVELS = ("new", "returning", "top")  # see author levels in docs/inbox.md
KNOWN = {"sentiment": SENTIMENTS, "intent": INTENTS, "reason": REASONS, "author": LEVELS}
ACTIONS = ("assign", "tag", "priority", "spam", "hide", "status", "notify")
RULE_STATUSES = tuple(s for s in STATUSES if s != "snoozed")  # a snooze needs a date a rule cannot know
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class RuleError(Invalid):
    """A rule refused: `field` names the part at fault (`name`, `conditions.N`, `actions.N`); `problem_template` and
    `values` let a page say it in the reader's language (web/pages/rules.py lists the templates)."""

    def __init__(self, field: str, template: str, **values: Any) -> None:
        problem = template % values if values else template
        super().__init__("%(field)s: %(problem)s", field=field, problem=problem)
        self.field, self.problem, self.problem_template, self.values = field, problem, template, values


@dataclass(frozen=True, slots=True)
class Condition:
    """One test on a new message: a choice among values, a probability bound, or keywords."""

    key: str
    values: tuple[Any, ...] = ()
    negate: bool = False
    low: float | None = None  # probability ≥ low
    high: float | None = None  # probability ≤ high
    any_words: tuple[str, ...] = ()
    all_words: tuple[str, ...] = ()
    no_words: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Action:
    """One thing done to the item: `type` and its argument (users, tags, priority, status, or a notice's target)."""

    type: str
    users: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    priority: int | None = None
    status: str | None = None
    email: str | None = None
    user: int | None = None
    recipient: int | None = None


Part = Condition | tuple[Condition, ...]  # a condition, or an "any" group


@dataclass(frozen=True, slots=True)
class Spec:
    """A rule checked: what the JSON said, typed."""

    name: str
    conditions: tuple[Part, ...]
    actions: tuple[Action, ...]
    enabled: bool = True
    stop: bool = False

    def flat(self) -> list[Condition]:
        """Every condition, groups opened."""
        return [c for part in self.conditions for c in (part if isinstance(part, tuple) else (part,))]


def parse(data: Any) -> Spec:
    """A rule from its JSON (a dict), or RuleError naming what is wrong."""
    if not isinstance(data, dict):
        raise RuleError("rule", "a rule is a JSON object with a name, conditions and actions")
    unknown = set(data) - {"name", "conditions", "actions", "enabled", "stop", "id", "position"}
    if unknown:
        raise RuleError("rule", "unknown field %(name)s", name=repr(sorted(unknown)[0]))
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME:
        raise RuleError("name", "give the rule a name (%(most)s characters at most)", most=MAX_NAME)
    conditions = _conditions(data.get("conditions"))
    actions = _actions(data.get("actions"))
    for flag in ("enabled", "stop"):
        if not isinstance(data.get(flag, flag == "enabled"), bool):
            raise RuleError(flag, "true or false")
    return Spec(name.strip(), conditions, actions, data.get("enabled", True), data.get("stop", False))


def as_json(spec: Spec) -> dict[str, Any]:
    """The JSON of a checked rule (what is stored and shown)."""
    return {"name": spec.name, "enabled": spec.enabled, "stop": spec.stop,
            "conditions": [_part_json(p) for p in spec.conditions],
            "actions": [_action_json(a) for a in spec.actions]}  # fmt: skip


def _conditions(data: Any) -> tuple[Part, ...]:
    if not isinstance(data, list):
        raise RuleError("conditions", "a list of conditions (an empty list matches every new message)")
    parts: list[Part] = []
    for index, part in enumerate(data):
        where = f"conditions.{index}"
        if isinstance(part, dict) and set(part) == {"any"}:
            group = part["any"]
            if not isinstance(group, list) or len(group) < 2:
                raise RuleError(where, "an 'any' group holds two conditions or more")
            parts.append(tuple(_condition(c, where) for c in group))
        else:
            parts.append(_condition(part, where))
    count = sum(len(p) if isinstance(p, tuple) else 1 for p in parts)
    if count > MAX_CONDITIONS:
        raise RuleError("conditions", "%(count)s conditions: %(most)s at most", count=count, most=MAX_CONDITIONS)
    return tuple(parts)


def _condition(data: Any, where: str) -> Condition:
    if not isinstance(data, dict) or data.get("key") not in KEYS:
        raise RuleError(where, "a condition has a key among %(keys)s", keys=", ".join(KEYS))
    key = data["key"]
    where = f"{where} ({key})"
    if key in PROBABILITIES:
        return _probability(key, data, where)
    if key == "keywords":
        return _keywords(data, where)
    _only(data, {"key", "in", "not"}, where)
    values = data.get("in")
    if not isinstance(values, list) or not values or len(values) > MAX_WORDS:
        raise RuleError(where, "'in' lists the values to match (1 to %(most)s)", most=MAX_WORDS)
    if key == "source":
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise RuleError(where, "sources are given by their numbers")
    elif not all(isinstance(v, str) and v.strip() and len(v) <= 200 for v in values):
        raise RuleError(where, "values are non-empty words")
    known = KNOWN.get(key)
    wrong = [v for v in values if known is not None and v not in known]
    if known is not None and wrong:
        raise RuleError(where, "%(value)s is not one of %(known)s", value=repr(wrong[0]), known=", ".join(known))
    if not isinstance(data.get("not", False), bool):
        raise RuleError(where, "'not' is true or false")
    return Condition(key, tuple(dict.fromkeys(values)), negate=data.get("not", False))


def _probability(key: str, data: dict[str, Any], where: str) -> Condition:
    _only(data, {"key", "min", "max"}, where)
    bounds: list[float | None] = []
    for bound in ("min", "max"):
        value = data.get(bound)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1):
            raise RuleError(where, "'%(bound)s' is a probability between 0 and 1", bound=bound)
        bounds.append(None if value is None else float(value))
    low, high = bounds
    if low is None and high is None:
        raise RuleError(where, "give 'min' (at least) or 'max' (at most), or both")
    if low is not None and high is not None and low > high:
        raise RuleError(where, "'min' is above 'max': nothing would match")
    return Condition(key, low=low, high=high)


def _keywords(data: dict[str, Any], where: str) -> Condition:
    _only(data, {"key", "any", "all", "none"}, where)
    lists: list[tuple[str, ...]] = []
    for name in ("any", "all", "none"):
        words = data.get(name, [])
        if not isinstance(words, list) or len(words) > MAX_WORDS:
            raise RuleError(
                where, "'%(name)s' is a list of %(most)s words or phrases at most", name=name, most=MAX_WORDS
            )
        clean = [" ".join(w.split()) for w in words if isinstance(w, str)]
        if len(clean) != len(words) or not all(map(fold, clean)) or any(len(w) > 100 for w in clean):
            raise RuleError(where, "'%(name)s' holds words or phrases (100 characters at most), none empty", name=name)
        lists.append(tuple(dict.fromkeys(clean)))
    if not any(lists):
        raise RuleError(where, "give words in 'any', 'all' or 'none'")
    return Condition("keywords", any_words=lists[0], all_words=lists[1], no_words=lists[2])


def _only(data: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise RuleError(where, "unknown field %(name)s", name=repr(sorted(unknown)[0]))


def _actions(data: Any) -> tuple[Action, ...]:
    if not isinstance(data, list) or not data:
        raise RuleError("actions", "a rule does at least one thing")
    if len(data) > MAX_ACTIONS:
        raise RuleError("actions", "%(count)s actions: %(most)s at most", count=len(data), most=MAX_ACTIONS)
    return tuple(_action(a, f"actions.{i}") for i, a in enumerate(data))


def _action(data: Any, where: str) -> Action:
    if not isinstance(data, dict) or data.get("type") not in ACTIONS:
        raise RuleError(where, "an action has a type among %(types)s", types=", ".join(ACTIONS))
    kind = data["type"]
    where = f"{where} ({kind})"
    fields = {"assign": {"to"}, "tag": {"tags"}, "priority": {"priority"}, "status": {"status"},
              "notify": {"email", "user", "recipient"}}.get(kind, set())  # fmt: skip
    _only(data, {"type"} | fields, where)
    if kind == "assign":
        users = data.get("to")
        if not isinstance(users, list) or not users or not all(_number(u) for u in users) or len(users) > 50:
            raise RuleError(where, "'to' lists the accounts (numbers) to share the items between, one or more")
        return Action(kind, users=tuple(dict.fromkeys(users)))
    if kind == "tag":
        tags = data.get("tags")
        if not isinstance(tags, list) or not tags or not all(isinstance(t, str) for t in tags) or len(tags) > 10:
            raise RuleError(where, "'tags' lists one to ten tags")
        try:
            return Action(kind, tags=tuple(sorted({clean_tag(t) for t in tags})))
        except Invalid:
            raise RuleError(where, "a tag is made of letters, digits and dashes (64 characters at most)") from None
    if kind == "priority":
        names = {name: number for number, name in PRIORITIES.items()}
        if data.get("priority") not in names:
            raise RuleError(where, "'priority' is one of %(names)s", names=", ".join(names))
        return Action(kind, priority=names[data["priority"]])
    if kind == "status":
        if data.get("status") not in RULE_STATUSES:
            raise RuleError(where, "'status' is one of %(names)s", names=", ".join(RULE_STATUSES))
        return Action(kind, status=data["status"])
    if kind == "notify":
        return _notify(data, where)
    return Action(kind)


def _notify(data: dict[str, Any], where: str) -> Action:
    given = [k for k in ("email", "user", "recipient") if data.get(k) is not None]
    if len(given) != 1:
        raise RuleError(where, "notify one of: an 'email' address, a team member ('user') or an alert 'recipient'")
    if given == ["email"]:
        email = data["email"]
        if not isinstance(email, str) or not EMAIL.match(email.strip()) or len(email) > 320:
            raise RuleError(where, "'email' is an e-mail address")
        return Action("notify", email=email.strip())
    if not _number(data[given[0]]):
        raise RuleError(where, "'%(name)s' is a number", name=given[0])
    return Action("notify", **{given[0]: data[given[0]]})


def _number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _part_json(part: Part) -> dict[str, Any]:
    if isinstance(part, tuple):
        return {"any": [_condition_json(c) for c in part]}
    return _condition_json(part)


def _condition_json(c: Condition) -> dict[str, Any]:
    if c.key in PROBABILITIES:
        return {"key": c.key} | ({"min": c.low} if c.low is not None else {}) | (
            {"max": c.high} if c.high is not None else {})  # fmt: skip
    if c.key == "keywords":
        lists = {"any": c.any_words, "all": c.all_words, "none": c.no_words}
        return {"key": c.key} | {name: list(words) for name, words in lists.items() if words}
    return {"key": c.key, "in": list(c.values)} | ({"not": True} if c.negate else {})


def _action_json(a: Action) -> dict[str, Any]:
    shapes: dict[str, dict[str, Any]] = {
        "assign": {"to": list(a.users)},
        "tag": {"tags": list(a.tags)},
        "priority": {"priority": PRIORITIES.get(a.priority or 0)},
        "status": {"status": a.status},
        "notify": {k: v for k, v in (("email", a.email), ("user", a.user), ("recipient", a.recipient)) if v},
    }
    return {"type": a.type} | shapes.get(a.type, {})


# --- compiling -------------------------------------------------------------------------------------------


MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")  # combining marks


def fold(text: str) -> str:
    """Text as keywords compare it: accents removed, case folded, spaces single."""
    return " ".join(MARKS.sub("", unicodedata.normalize("NFKD", text)).casefold().split())


@dataclass(slots=True)
class Facts:
    """What the rules read of a new message and its item."""

    channel: str
    source_id: int
    language: str | None
    sentiment: str | None
    intent: str | None
    kind: str
    reasons: frozenset[str]
    spam: float | None
    toxicity: float | None
    levels: frozenset[str] = frozenset()
    text: str = ""  # title and text, folded


Predicate = Callable[[Facts], bool]
ATTRIBUTE = {"channel": "channel", "source": "source_id", "language": "language", "sentiment": "sentiment",
             "intent": "intent", "kind": "kind"}  # fmt: skip


def compile_rule(spec: Spec) -> Predicate:
    """One predicate for the whole rule: its tests joined in one Python expression, cheapest first, stopping at
    the first that fails. The values sit in the function's namespace, never in its source."""
    namespace: dict[str, Any] = {}
    tests = [_expression(p, namespace) for p in sorted(spec.conditions, key=_cost)]
    source = "lambda f: " + (" and ".join(tests) or "True")
    predicate: Predicate = eval(source, {"__builtins__": {}} | namespace)  # noqa: S307 (our own source, no user text)
    return predicate


def _cost(part: Part) -> int:
    if isinstance(part, tuple):
        return 3
    return 2 if part.key == "keywords" else 1 if part.key in ("reason", "author") else 0


def _expression(part: Part, namespace: dict[str, Any]) -> str:
    if isinstance(part, tuple):
        return "(" + " or ".join(_expression(c, namespace) for c in part) + ")"
    c = part
    name = f"v{len(namespace)}"
    if c.key in ATTRIBUTE:
        namespace[name] = frozenset(c.values)
        return f"(f.{ATTRIBUTE[c.key]} {'not in' if c.negate else 'in'} {name})"
    if c.key in ("reason", "author"):
        namespace[name] = frozenset(c.values)
        field_ = "reasons" if c.key == "reason" else "levels"
        return f"({'' if c.negate else 'not '}f.{field_}.isdisjoint({name}))"
    if c.key in PROBABILITIES:
        namespace[name] = (c.low, c.high)
        value = "f.spam" if c.key == "spam" else "f.toxicity"
        bounds = [f"{value} is not None"]
        bounds += [f"{value} >= {name}[0]"] if c.low is not None else []
        bounds += [f"{value} <= {name}[1]"] if c.high is not None else []
        return "(" + " and ".join(bounds) + ")"
    namespace[name] = keywords_test(c)
    return f"{name}(f)"


def keywords_test(c: Condition) -> Predicate:
    """One compiled expression for every word of the condition; whole words, on folded text."""
    any_words, all_words, no_words = (frozenset(map(fold, w)) for w in (c.any_words, c.all_words, c.no_words))
    found_in = _finder(sorted(any_words | all_words | no_words))

    def test(facts: Facts) -> bool:
        found = found_in(facts.text)
        if any_words and not found & any_words:
            return False
        if all_words and not all_words <= found:
            return False
        return not found & no_words

    return test


def _finder(words: Sequence[str]) -> Callable[[str], set[str]]:
    """The words found in a text: one alternation, unless two phrases share a word (one match could then hide
    the other), where each phrase has its own expression."""
    tokens = [w.split() for w in words]
    shared = sum(len(set(t)) for t in tokens) != len({token for t in tokens for token in t})
    if not shared:
        pattern = re.compile(r"(?<!\w)(?:" + "|".join(_phrase(w) for w in words) + r")(?!\w)")
        return lambda text: set(pattern.findall(text))  # folded text has single spaces already
    each = [(w, re.compile(r"(?<!\w)" + _phrase(w) + r"(?!\w)")) for w in words]
    return lambda text: {w for w, pattern in each if pattern.search(text)}


def _phrase(words: str) -> str:
    return r"\s+".join(re.escape(w) for w in words.split())


def wants(specs: Sequence[Spec], key: str) -> bool:
    """Whether any of these rules reads a condition `key` (the text, the author's level), to read it only then."""
    return any(c.key == key for spec in specs for c in spec.flat())


def asks_top(specs: Sequence[Spec]) -> bool:
    """Whether any of these rules asks for `top` authors (counting recent messages is only done then)."""
    return any(c.key == "author" and "top" in c.values for spec in specs for c in spec.flat())
