"""The cockpit's languages and time zones: Babel catalogues, the reader's choice, dates in their locale."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import cache
from gettext import NullTranslations, translation
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_skeleton, format_time, format_timedelta
from babel.numbers import format_decimal, format_percent

from pilote import texts
from pilote.enrich import spam
from pilote.errors import PiloteError
from pilote.metrics import catalogue
from pilote.radar import words as radar

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = {"en": "English", "fr": "Français"}
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "pilote_lang"
TIMEZONE_COOKIE = "pilote_tz"
_TZ_NAME = re.compile(r"^[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+){0,2}$")


def N_(message: str) -> str:  # noqa: N802 (the name gettext tools look for)
    """Mark a string for translation without translating it yet."""
    return message


# Values of the store shown to readers: kinds, sentiments, intents, incident states, roles.
WORDS = frozenset({
    N_("post"), N_("page"), N_("comment"), N_("reply"), N_("mention"), N_("review"), N_("share"), N_("message"),
    N_("positive"), N_("neutral"), N_("negative"), N_("unknown"),
    N_("question"), N_("complaint"), N_("suggestion"), N_("praise"), N_("other"),
    N_("open"), N_("acknowledged"), N_("resolved"), N_("low"), N_("medium"), N_("high"),
    N_("analyst"), N_("moderator"), N_("manager"), N_("admin"),
    # an incident's log and its notifications
    N_("opened"), N_("alert"), N_("notified"), N_("past"), N_("escalated"), N_("reopened"), N_("note"),
    N_("update"), N_("escalation"), N_("pending"), N_("retrying"), N_("sent"), N_("failed"),
})  # fmt: skip
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of a language (messages.mo), then the services' own (`pilote.texts`); English is the
    source language."""
    found = translation("messages", localedir=LOCALE_DIR, languages=[language], fallback=True)
    found.add_fallback(texts.catalogue(language))
    return found


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The reader's language: their explicit choice, else the first known one their browser asks for."""
    if cookie in LANGUAGES:
        return cookie
    for wanted in _accepted(accept_language or ""):
        if wanted in LANGUAGES:
            return wanted
    return DEFAULT_LANGUAGE


def _accepted(header: str) -> list[str]:
    """Primary language tags of an Accept-Language header, by decreasing quality."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = _quality(params)
        if tag and quality > 0:
            ranked.append((-quality, position, tag.split("-")[0].lower()))
    return [tag for _, _, tag in sorted(ranked)]


def _quality(params: str) -> float:
    """The q= weight of a language range: 1 when absent, 0 when unreadable."""
    match = re.search(r"q=([^;,\s]*)", params)
    if match is None:
        return 1.0
    try:
        return float(match.group(1))
    except ValueError:
        return 0.0


def zone(name: str | None) -> tzinfo:
    """The reader's time zone from an IANA name (set by our script); UTC when unknown or malformed."""
    name = unquote(name or "")
    if not name or len(name) > 64 or not _TZ_NAME.match(name):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


@dataclass(frozen=True, slots=True)
class Formatter:
    """Everything a page needs to speak the reader's language: translations, dates, numbers."""

    language: str
    tz: tzinfo
    region: str | None = None  # the browser's regional form of `language` ("en_GB"): dates and numbers as there

    @property
    def locale(self) -> str:
        """The locale dates and numbers are written in: the reader's region's form of their language, else the
        language's own (English dates as in the United States, French as in France)."""
        return self.region or self.language

    def gettext(self, message: str, **values: Any) -> str:
        """The translation of `message`, with %(name)s placeholders filled from `values`."""
        text = translations(self.language).gettext(message)
        return text % values if values else text

    def error(self, error: PiloteError | dict[str, Any]) -> str:
        """An error (or its stored record) in the reader's language, without the command line's flags."""
        record = error.record() if isinstance(error, PiloteError) else dict(error)
        values = record.get("params") or {}
        record["params"] = {**values, **({"state": self.word(values["state"])} if "state" in values else {})}
        return texts.error_text(record, translations(self.language).gettext)

    def problem(self, record: dict[str, Any] | None, text: str | None) -> str:
        """A failure kept on a source, a run or a delivery: its record in the reader's language, else its English
        text said again from the services' templates (and naming no flag either way)."""
        return self.error(record) if record is not None else self.said(text)

    def said(self, text: str | None) -> str:
        """A text a service wrote and that was kept in English (a skipped item's problem, a merge's evidence), said
        again in the reader's language from the services' templates; naming no flag either way."""
        said = texts.said_again(text or "", translations(self.language).gettext)
        return texts.without_commands(said if said is not None else text or "")

    def series(self, name: str) -> str:
        """A radar series in the reader's language ("keyphrase:vélo" is the messages with that phrase)."""
        return radar.series_name(name, translations(self.language).gettext)

    def logged(self, text: str | None) -> str:
        """A title or log line the radar wrote (kept in English) in the reader's language; people's notes as
        they wrote them."""
        return self._again(radar.said(text or ""), text)

    def noted(self, text: str | None) -> str:
        """A metric's note (kept in English) in the reader's language."""
        return self._again(texts.recognise(text or "", catalogue.NOTES), text)

    def _again(self, found: tuple[str, dict[str, Any]] | None, text: str | None) -> str:
        """A stored English text said again from its template and values, else as it is."""
        if found is None:
            return text or ""
        template, values = found
        return self.gettext(template, **{name: self._value(name, value) for name, value in values.items()})

    def _value(self, name: str, value: str) -> str:
        """A value of a stored line, said again: a series, a word, a number (4.0× too) in the reader's locale."""
        if name == "series":
            return self.series(value)
        if name == "phrase":
            return value
        if value in WORDS or value == radar.FAR_ABOVE:
            return translations(self.language).gettext(value)
        number = value.removesuffix("×")
        if _NUMBER.fullmatch(number):
            return self.number(float(number)) + value[len(number) :]
        return value

    def word(self, value: str | None) -> str:
        """A kind, sentiment or intent in the reader's language (other values as they are)."""
        if value is None:
            return ""
        return translations(self.language).gettext(value) if value in WORDS else value

    def reason(self, code: str) -> str:
        """A spam reason in the reader's language: its phrase when the code is known, else the code itself."""
        return spam.phrase(code, self.language)

    def words(self, keys: Any) -> dict[str, str]:
        """Chart names for keys (kinds, sentiments...)."""
        return {key: self.word(key) for key in keys}

    def ngettext(self, singular: str, plural: str, n: int, **values: Any) -> str:
        """The singular or plural translation for `n`; %(n)s is always available."""
        text = translations(self.language).ngettext(singular, plural, n)
        return text % {"n": self.number(n), **values}

    def moment(self, value: datetime | None, format: str = "medium") -> str:
        """A moment in the reader's locale and time zone."""
        if value is None:
            return ""
        return format_datetime(value, format, tzinfo=self.tz, locale=self.locale)

    def day(self, value: datetime | date | None, format: str = "medium") -> str:
        """A day in the reader's locale (a moment is first moved to their time zone)."""
        if value is None:
            return ""
        if isinstance(value, datetime):
            value = value.astimezone(self.tz).date()
        return format_date(value, format, locale=self.locale)

    def time(self, value: datetime) -> str:
        """The time of day of a moment, in the reader's locale and time zone ("14:37")."""
        return format_time(value, "short", tzinfo=self.tz, locale=self.locale)

    def short(self, value: datetime, skeleton: str = "MMMd", with_time: bool = False) -> str:
        """A compact label for chart axes (a CLDR skeleton such as MMMd or yMMMd, and the time if asked)."""
        local = value.astimezone(self.tz)
        label = format_skeleton(skeleton, local, locale=self.locale)
        return f"{label} {format_time(local, 'short', locale=self.locale)}" if with_time else label

    def ago(self, value: datetime | None, now: datetime) -> str:
        """How long ago, in words ("3 hours")."""
        if value is None:
            return ""
        return format_timedelta(value - now, add_direction=True, locale=self.locale)

    def span(self, value: timedelta) -> str:
        """A length of time, short and without direction ("2 h", "3 days")."""
        return format_timedelta(abs(value), format="short", locale=self.locale)

    def number(self, value: float | None) -> str:
        """A number with the locale's grouping."""
        return "" if value is None else format_decimal(value, locale=self.locale)

    def percent(self, value: float | None, exact: bool = False) -> str:
        """A share (0.12 → 12 %); `exact` keeps every decimal (0.8731 → 87.31 %)."""
        if value is None:
            return ""
        return format_percent(value, locale=self.locale, decimal_quantization=not exact)

    def local(self, value: datetime) -> datetime:
        """A moment in the reader's time zone."""
        return value.astimezone(self.tz)


def formatter(cookies: dict[str, str], accept_language: str | None) -> Formatter:
    """The formatter for a request's cookies and Accept-Language header."""
    language = negotiate(cookies.get(LANGUAGE_COOKIE), accept_language)
    return Formatter(
        language=language, tz=zone(cookies.get(TIMEZONE_COOKIE)), region=regional(language, accept_language)
    )


def regional(language: str, accept_language: str | None) -> str | None:
    """The first regional form of `language` the browser asks for that Babel knows ("en-GB" → "en_GB"), if any."""
    for part in (accept_language or "").split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if len(tag) > 20 or "-" not in tag or tag.split("-")[0].lower() != language or _quality(params) <= 0:
            continue
        try:
            return str(Locale.parse(tag, sep="-"))
        except (ValueError, TypeError, UnknownLocaleError):
            continue
    return None
