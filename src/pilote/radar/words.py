"""The radar's words: incident titles, the lines it writes in an incident's log, the names of its series.

They are stored in English, as they were said (the command line and the API show them so); a page or an e-mail
finds their template again (`said`) and says them in its reader's language.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pilote.errors import fill
from pilote.texts import N_, recognise

TITLES = {
    "mentions": N_("Surge of mentions"),
    "negative": N_("Surge of negative messages"),
    "negative_share": N_("Negative share jumps"),
    "reach": N_("Unusual reach"),
    "newcomers": N_("Many first-time authors"),
    "newcomer_reach": N_("A newcomer's message is spreading"),
}
KEYPHRASE_TITLE = N_("Surge of “%(phrase)s”")
# The log's lines the radar writes.
NOTIFIED = N_("%(reason)s: %(count)s notification(s) queued")
ALERT = N_("%(series)s: %(value)s against %(expected)s expected (%(times)s), severity %(severity)s")
FAR_ABOVE = N_("far above")
PAST = N_("read more than %(hours)s hours after its time: a past episode, resolved from the start, nobody told")
ESCALATED = N_("not acknowledged after %(minutes)s minutes")
SAID = (*TITLES.values(), KEYPHRASE_TITLE, ALERT, NOTIFIED, PAST, ESCALATED)
# The series, as a chart, an incident or a notification names them.
SERIES = {
    "mentions": N_("messages"), "negative": N_("negative messages"), "negative_share": N_("share of negative messages"),
    "reach": N_("reach"), "newcomers": N_("share of first-time authors"),
    "newcomer_reach": N_("reach of first-time authors"),
}  # fmt: skip
KEYPHRASE_SERIES = N_("messages with “%(phrase)s”")


def title(series: str) -> str:
    """An incident's title, from the series of its first alert (in English: pages translate it, see `said`)."""
    return TITLES.get(series) or fill(KEYPHRASE_TITLE, {"phrase": series.removeprefix("keyphrase:")})


def said(text: str) -> tuple[str, dict[str, Any]] | None:
    """The template and values of a title or a log line the radar wrote, for a page to say it in its reader's
    language; None for what people wrote (notes)."""
    return recognise(text, SAID)


def series_name(name: str, gettext: Callable[[str], str]) -> str:
    """A series in a language (`gettext` of its catalogue): "keyphrase:vélo" is the messages with that phrase."""
    if name.startswith("keyphrase:"):
        return fill(gettext(KEYPHRASE_SERIES), {"phrase": name.removeprefix("keyphrase:")})
    return gettext(SERIES[name]) if name in SERIES else name
