"""The inbox's Rules page: the rules in the order they run, a form to build one (checked by the server, with the
problems shown next to their field), its preview on the last 30 days before saving, reordering, switching, deleting.
Managers change rules; everyone else with a role reads them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from pilote.accounts import users
from pilote.errors import Invalid
from pilote.inbox import PRIORITIES, conditions, rules
from pilote.inbox.conditions import RULE_STATUSES, RuleError
from pilote.models import Membership, User
from pilote.web.pages.common import Page, PageDep, actor_of

router = APIRouter()
ROWS, ACTION_ROWS = conditions.MAX_CONDITIONS, conditions.MAX_ACTIONS
CHOICE_KEYS = conditions.CHOICES
NUMBER_KEYS = ("spam_min", "spam_max", "toxicity_min", "toxicity_max")
WORD_KEYS = ("keywords_any", "keywords_all", "keywords_none")
VALUED = ("assign", "tag", "priority", "status", "notify")


def managing(page: Page) -> bool:
    """Whether the reader may change rules here (a manager or more)."""
    principal = getattr(page.request.state, "principal", None)
    role = principal.role_in(page.workspace.id) if principal is not None else None
    return role is not None and users.rank(role) >= users.rank("manager")


@router.get("/w/{slug}/inbox/rules", response_class=HTMLResponse)
def page_of_rules(page: PageDep, edit: int | None = None) -> HTMLResponse:
    """The rules, and the form (empty, or the rule being edited)."""
    form = _form_of(rules.as_json(rules.get(page.session, page.workspace.id, edit))) if edit else _empty()
    return _render(page, form, {}, None, edit)


@router.post("/w/{slug}/inbox/rules", response_model=None)
async def submit(page: PageDep, request: Request) -> HTMLResponse | RedirectResponse:
    """Preview the rule the form describes, or save it (a new rule, or the one being edited)."""
    fields = await request.form()
    form = {k: str(v) for k, v in fields.items()}
    return await run_in_threadpool(_submit, page, request, form)  # the store is never read on the event loop


def _submit(page: Page, request: Request, form: dict[str, str]) -> HTMLResponse | RedirectResponse:
    editing = int(form["rule_id"]) if form.get("rule_id", "").isdigit() else None
    data, rows = _rule_of(page, form)
    errors: dict[str, str] = {}
    try:
        if form.get("intent") == "save":
            if editing is not None:
                rules.update(page.session, page.workspace.id, editing, data, actor_of(request))
            else:
                rules.create(page.session, page.workspace.id, data, actor_of(request))
            page.session.commit()
            return RedirectResponse(page.url("inbox/rules"), status_code=303)
        shown = rules.preview(page.session, page.workspace.id, data)
    except RuleError as error:
        errors[rows.get(error.field.split(" ")[0], "form")] = _problem(page, error)
        shown = None
    except Invalid as error:
        errors["form"] = page.t.error(error)
        shown = None
    return _render(page, form, errors, shown, editing, status=422 if errors else 200)


@router.post("/w/{slug}/inbox/rules/{rule_id}/move")
async def move(page: PageDep, request: Request, rule_id: int) -> RedirectResponse:
    """One place up or down."""
    direction = str((await request.form()).get("direction", ""))
    if direction not in ("up", "down"):
        raise Invalid("move a rule up or down")
    return await run_in_threadpool(_move, page, request, rule_id, direction)


def _move(page: Page, request: Request, rule_id: int, direction: str) -> RedirectResponse:
    rules.move(page.session, page.workspace.id, rule_id, -1 if direction == "up" else 1, actor_of(request))
    page.session.commit()
    return RedirectResponse(page.url("inbox/rules"), status_code=303)


@router.post("/w/{slug}/inbox/rules/{rule_id}/enabled")
async def switch(page: PageDep, request: Request, rule_id: int) -> RedirectResponse:
    """Switch a rule on or off."""
    on = str((await request.form()).get("enabled", "")) == "1"
    return await run_in_threadpool(_switch, page, request, rule_id, on)


def _switch(page: Page, request: Request, rule_id: int, on: bool) -> RedirectResponse:
    rules.set_enabled(page.session, page.workspace.id, rule_id, on, actor_of(request))
    page.session.commit()
    return RedirectResponse(page.url("inbox/rules"), status_code=303)


@router.post("/w/{slug}/inbox/rules/{rule_id}/delete")
def delete(page: PageDep, request: Request, rule_id: int) -> RedirectResponse:
    """Remove a rule."""
    rules.delete(page.session, page.workspace.id, rule_id, actor_of(request))
    page.session.commit()
    return RedirectResponse(page.url("inbox/rules"), status_code=303)


def _render(page: Page, form: dict[str, str], errors: dict[str, str], shown: Any, editing: int | None,
            status: int = 200) -> HTMLResponse:  # fmt: skip
    listed = [rules.as_json(r) for r in rules.get_all(page.session, page.workspace.id)]
    people = _people(page)
    response = page.render("inbox_rules.html", "inbox", rules=listed, form=form, errors=errors, preview=shown,
                           editing=editing, managing=managing(page), rows=range(ROWS), action_rows=range(ACTION_ROWS),
                           choice_keys=CHOICE_KEYS, number_keys=NUMBER_KEYS, word_keys=WORD_KEYS,
                           actions=conditions.ACTIONS, people=people, priorities=tuple(PRIORITIES.values()),
                           statuses=RULE_STATUSES, valued=VALUED,
                           names={u: n for u, (n, _) in people.items()})  # fmt: skip
    response.status_code = status
    return response


def _people(page: Page) -> dict[int, tuple[str, str]]:
    """The workspace's members: id → (name, e-mail)."""
    query = (select(User.id, User.display_name, User.email).join(Membership, Membership.user_id == User.id)
             .where(Membership.workspace_id == page.workspace.id).order_by(User.display_name))  # fmt: skip
    return {uid: (name, email) for uid, name, email in page.session.execute(query)}


def N_(text: str) -> str:  # noqa: N802 (Babel's marker for strings translated later)
    return text


# What the rules' checks say (inbox/conditions.py, rules.py, preview.py), for the catalogues: a test keeps them equal.
PROBLEMS = frozenset({
    N_("%(count)s actions: %(most)s at most"), N_("%(count)s conditions: %(most)s at most"),
    N_("%(value)s is not one of %(known)s"), N_("'%(bound)s' is a probability between 0 and 1"),
    N_("'%(name)s' holds words or phrases (100 characters at most), none empty"), N_("'%(name)s' is a number"),
    N_("'%(name)s' is a list of %(most)s words or phrases at most"), N_("'email' is an e-mail address"),
    N_("'in' lists the values to match (1 to %(most)s)"), N_("'min' is above 'max': nothing would match"),
    N_("'not' is true or false"), N_("'priority' is one of %(names)s"), N_("'status' is one of %(names)s"),
    N_("'tags' lists one to ten tags"), N_("'to' lists the accounts (numbers) to share the items between, one or more"),
    N_("a condition has a key among %(keys)s"), N_("a list of conditions (an empty list matches every new message)"),
    N_("a rule does at least one thing"), N_("a rule is a JSON object with a name, conditions and actions"),
    N_("a tag is made of letters, digits and dashes (64 characters at most)"),
    N_("account %(number)s cannot take items here (a moderator or above can)"),
    N_("account %(number)s is not a member of this workspace"), N_("an 'any' group holds two conditions or more"),
    N_("an action has a type among %(types)s"), N_("give 'min' (at least) or 'max' (at most), or both"),
    N_("give the rule a name (%(most)s characters at most)"), N_("give words in 'any', 'all' or 'none'"),
    N_("no alert recipient %(number)s in this workspace"), N_("no source %(number)s in this workspace"),
    N_("notify one of: an 'email' address, a team member ('user') or an alert 'recipient'"),
    N_("preview 1 to %(most)s days"), N_("sources are given by their numbers"), N_("true or false"),
    N_("unknown field %(name)s"), N_("values are non-empty words"),
})  # fmt: skip


def _problem(page: Page, error: RuleError) -> str:
    """The problem in the reader's language, framed by what it is about."""
    said = page.t.gettext(error.problem_template)
    problem = said % error.values if error.values else said
    where = error.field.split(" ")[0]
    if where.startswith("conditions"):
        return page.t.gettext("This condition cannot be used: %(problem)s") % {"problem": problem}
    if where.startswith("actions"):
        return page.t.gettext("This action cannot be used: %(problem)s") % {"problem": problem}
    return page.t.gettext("This rule cannot be saved: %(problem)s") % {"problem": problem}


def _empty() -> dict[str, str]:
    return {"name": "", "enabled": "1", "stop": ""}


def _values(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def _rule_of(page: Page, form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The rule the form describes, and which form row each of its conditions and actions came from."""
    found: list[dict[str, Any]] = []
    rows: dict[str, str] = {"name": "name"}
    words: dict[str, Any] = {}
    for n in range(ROWS):
        key, value = form.get(f"cond_key_{n}", ""), form.get(f"cond_value_{n}", "").strip()
        if not key:
            continue
        if key in WORD_KEYS:
            if not words:
                words["key"] = "keywords"
                rows["keywords"] = f"cond-{n}"
            words[key.removeprefix("keywords_")] = _values(value)
            continue
        rows[f"conditions.{len(found)}"] = f"cond-{n}"
        if key in NUMBER_KEYS:
            name, bound = key.split("_")
            found.append({"key": name, bound: _float(value)})
        else:
            values: list[Any] = [int(v) if key == "source" and v.isdigit() else v for v in _values(value)]
            found.append({"key": key, "in": values} | ({"not": True} if form.get(f"cond_not_{n}") else {}))
    if words:
        rows[f"conditions.{len(found)}"] = rows.pop("keywords")
        found.append(words)
    actions: list[dict[str, Any]] = []
    for n in range(ACTION_ROWS):
        kind, value = form.get(f"act_type_{n}", ""), form.get(f"act_value_{n}", "").strip()
        if kind:
            rows[f"actions.{len(actions)}"] = f"act-{n}"
            actions.append(_action(page, kind, value))
    data = {"name": form.get("name", ""), "conditions": found, "actions": actions,
            "enabled": bool(form.get("enabled")), "stop": bool(form.get("stop"))}  # fmt: skip
    return data, rows


def _float(value: str) -> Any:
    try:
        return float(value.replace(",", "."))
    except ValueError:
        return value  # refused by the checks, with the condition named


def _action(page: Page, kind: str, value: str) -> dict[str, Any]:
    if kind == "assign":
        by_email = {email: uid for uid, (_, email) in _people(page).items()}
        return {"type": kind, "to": [by_email.get(v.lower(), int(v) if v.isdigit() else 0) for v in _values(value)]}
    if kind == "tag":
        return {"type": kind, "tags": _values(value)}
    if kind in ("priority", "status"):
        return {"type": kind, kind: value}
    if kind == "notify":
        return {"type": kind, "email": value}
    return {"type": kind}


def _form_of(rule: dict[str, Any]) -> dict[str, str]:
    """A stored rule as the form's fields (an "any" group cannot be shown: it is left to the JSON)."""
    form = {"name": rule["name"], "enabled": "1" if rule["enabled"] else "", "stop": "1" if rule["stop"] else "",
            "rule_id": str(rule["id"])}  # fmt: skip
    n = 0
    for condition in rule["conditions"]:
        if condition.get("key") == "keywords":
            for part in ("any", "all", "none"):
                if condition.get(part):
                    form |= {f"cond_key_{n}": f"keywords_{part}", f"cond_value_{n}": ", ".join(condition[part])}
                    n += 1
        elif condition.get("key") in conditions.PROBABILITIES:
            for bound in ("min", "max"):
                if condition.get(bound) is not None:
                    form |= {f"cond_key_{n}": f"{condition['key']}_{bound}", f"cond_value_{n}": str(condition[bound])}
                    n += 1
        elif "key" in condition:
            form |= {f"cond_key_{n}": condition["key"], f"cond_value_{n}": ", ".join(map(str, condition["in"])),
                     f"cond_not_{n}": "1" if condition.get("not") else ""}  # fmt: skip
            n += 1
    for n, action in enumerate(rule["actions"]):
        value = {"assign": ", ".join(map(str, action.get("to", []))), "tag": ", ".join(action.get("tags", [])),
                 "priority": action.get("priority", ""), "status": action.get("status", ""),
                 "notify": action.get("email", "")}.get(action["type"], "")  # fmt: skip
        form |= {f"act_type_{n}": action["type"], f"act_value_{n}": str(value)}
    return form
