"""Is a written answer grounded in the passages it cites? Sentences, figures, links, e-mails.

Used to check an LLM answer before it is shown: the answer is split into sentences and list
items, each must cite passages with [n], and every figure, URL and e-mail address in it must
be one the cited passages give. Figures are compared by value and kind, so "$500,000" and
"50만 달러", "3년" and "3 years", "20 달러" and "20달러" are the same figure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

MARKER = re.compile(r"\[(\d{1,3})\]")

# -- sentences -------------------------------------------------------------------------------
#: Where a sentence ends: terminal punctuation before a space or the line's end; markers
#: right after it ("...합니다. [1]") still belong to the sentence they follow.
_SENTENCE_END = re.compile(r"[.!?。！？…]+(?:\s*\[\d{1,3}\])*(?=\s|$)")
#: An abbreviation's full stop ends no sentence.
_ABBREVIATION = re.compile(
    r"(?:^|[\s(])(?:e\.g|i\.e|etc|vs|approx|cf|no|mr|mrs|ms|dr|inc|ltd|jr|sr|st)\.$", re.I
)
_BULLET = re.compile(r"^\s*(?:[•·\-*+]|\d{1,2}[.)])\s+")
#: A line that only introduces the list under it ("필요한 기술:", "Skills") may go uncited.
_LEAD_IN_CHARS = 40


@dataclass(frozen=True)
class Sentence:
    """One sentence or list item of an answer and the passage numbers it cites."""

    text: str
    markers: tuple[int, ...]
    lead_in: bool = False


def sentences(text: str) -> list[Sentence]:
    """Split an answer into its sentences and list items, each with the markers it carries.

    Every sentence stands on its own, inside a list item too. A short line with no full stop,
    digit or link, followed by a list item, is marked `lead_in`: a heading or "필요한 기술:"
    introducing the list, which may go uncited.
    """
    lines = [line.strip() for line in text.split("\n")]
    found: list[Sentence] = []
    for i, line in enumerate(lines):
        if not line:
            continue
        item = _BULLET.sub("", line, count=1)
        following = next((nxt for nxt in lines[i + 1 :] if nxt), "")
        pieces = _split(item)
        lead_in = (
            item == line
            and len(pieces) == 1
            and bool(following)
            and _BULLET.match(following) is not None
            and len(item) <= _LEAD_IN_CHARS
            and not MARKER.search(item)
            and not re.search(r"\d|[.!?。]$|@|://|www\.", item)
        )
        for piece in pieces:
            markers = tuple(int(m.group(1)) for m in MARKER.finditer(piece))
            if any(ch.isalnum() for ch in MARKER.sub(" ", piece)):
                found.append(Sentence(piece, markers, lead_in=lead_in))
    return found


def _split(line: str) -> list[str]:
    pieces, start = [], 0
    for match in _SENTENCE_END.finditer(line):
        if _ABBREVIATION.search(line[start : match.start() + 1]):
            continue
        pieces.append(line[start : match.end()].strip())
        start = match.end()
    pieces.append(line[start:].strip())
    return [p for p in pieces if p]


# -- figures ---------------------------------------------------------------------------------
_NUMBER = re.compile(r"(?<![\d.,])(\d{1,3}(?:[,\u00a0\u202f\u2009]\d{3})+|\d+)(?:\.(\d+))?(?!\d)")
_CURRENCY_BEFORE = re.compile(r"(US\$|A\$|C\$|\$|₩|￦|€|£|¥|USD|KRW)\s?$", re.I)
_SCALES = {
    "천만": 10_000_000, "백만": 1_000_000, "천": 1_000, "만": 10_000, "억": 100_000_000,
    "조": 10**12, "k": 1_000, "thousand": 1_000, "m": 1_000_000, "mn": 1_000_000,
    "million": 1_000_000, "b": 10**9, "bn": 10**9, "billion": 10**9,
}  # fmt: skip
_UNITS = {
    "%": "percent", "퍼센트": "percent", "프로": "percent", "percent": "percent",
    "per cent": "percent", "달러": "usd", "불": "usd", "dollars": "usd", "dollar": "usd",
    "usd": "usd", "원": "krw", "won": "krw", "krw": "krw", "유로": "eur", "euros": "eur",
    "euro": "eur", "파운드": "gbp", "pounds": "gbp", "엔": "jpy", "yen": "jpy",
    "년": "year", "years": "year", "year": "year", "yrs": "year", "yr": "year",
    "개월": "month", "달": "month", "months": "month", "month": "month",
    "주": "week", "weeks": "week", "week": "week", "일": "day", "days": "day", "day": "day",
    "시간": "hour", "hours": "hour", "hour": "hour", "hrs": "hour", "hr": "hour", "h": "hour",
    "분": "minute", "minutes": "minute", "minute": "minute", "mins": "minute", "min": "minute",
    "초": "second", "seconds": "second", "second": "second", "secs": "second", "sec": "second",
    "s": "second", "명": "people", "people": "people", "persons": "people",
    "배": "times", "times": "times", "x": "times", "세": "age", "살": "age",
}  # fmt: skip
_CURRENCY_SIGNS = {"$": "usd", "us$": "usd", "a$": "aud", "c$": "cad", "usd": "usd",
                   "₩": "krw", "￦": "krw", "krw": "krw", "€": "eur", "£": "gbp", "¥": "jpy"}  # fmt: skip
_LATIN_END = r"(?![A-Za-z])"
_AFTER = re.compile(
    r"\s?(?P<scale>천만|백만|천|만|억|조|(?:thousand|million|billion|bn|mn|k|m|b)"
    + _LATIN_END
    + ")?"
    r"\s?(?P<unit>%|퍼센트|프로|달러|불|원|유로|파운드|엔|년|개월|달|주|일|시간|분|초|명|배|세|살"
    r"|(?:per cent|percent|dollars?|usd|won|krw|euros?|pounds|yen|years?|yrs?|months?|weeks?"
    r"|days?|hours?|hrs?|h|minutes?|mins?|seconds?|secs?|s|people|persons|times|x)"
    + _LATIN_END
    + ")?",
    re.I,
)
_RANGE = re.compile(r"^\s*(?:~|～|-|–|—|to|or|에서|부터|내지)\s*\$?$", re.I)


@dataclass(frozen=True)
class Figure:
    """A number as said: its value (scale words applied) and its kind, if it has one."""

    value: Decimal
    kind: str | None
    start: int
    end: int


def figures(text: str) -> list[Figure]:
    """Every number in the text, with currency, scale ("만", "k", "million") and unit read."""
    text = MARKER.sub(" ", text)
    found: list[Figure] = []
    for match in _NUMBER.finditer(text):
        digits = re.sub(r"[^\d]", "", match.group(1))
        try:
            value = Decimal(f"{digits}.{match.group(2)}" if match.group(2) else digits)
        except InvalidOperation:  # pragma: no cover - the pattern only admits digits
            continue
        kind = None
        sign = _CURRENCY_BEFORE.search(text[max(0, match.start() - 4) : match.start()])
        if sign:
            kind = _CURRENCY_SIGNS.get(sign.group(1).lower())
        after = _AFTER.match(text, match.end())
        end = match.end()
        if after:
            if after.group("scale"):
                value *= _SCALES[after.group("scale").lower()]
            if after.group("unit"):
                kind = kind or _UNITS.get(after.group("unit").lower())
            if after.group("scale") or after.group("unit"):
                end = after.end()
        found.append(Figure(value.normalize(), kind, match.start(), end))
    # A range's ends share a kind: "3~5년" is 3 years to 5 years, "$20-25" dollars both.
    for i in range(len(found) - 1):
        left, right = found[i], found[i + 1]
        if (left.kind is None) != (right.kind is None) and _RANGE.match(
            text[left.end : right.start]
        ):
            kind = left.kind or right.kind
            found[i] = Figure(left.value, kind, left.start, left.end)
            found[i + 1] = Figure(right.value, kind, right.start, right.end)
    return found


# -- links and addresses ---------------------------------------------------------------------
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_URL = re.compile(
    r"(?:https?://|www\.)[A-Za-z0-9\-._~:/?#@!$&'*+,;=%]+"
    r"|(?<![\w@.\-/])(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}"
    r"(?![\w@-])(?:/[A-Za-z0-9\-._~:/?#@!$&'*+,;=%]*)?",
    re.I,
)


def emails(text: str) -> set[str]:
    return {m.group(0).lower().rstrip(".") for m in _EMAIL.finditer(text)}


def urls(text: str) -> set[str]:
    """Links and bare domains, normalised: no scheme, lower case, no trailing punctuation."""
    text = _EMAIL.sub(" ", MARKER.sub(" ", text))
    found = set()
    for match in _URL.finditer(text):
        url = match.group(0).lower().rstrip(".,;:!?'*")
        url = re.sub(r"^https?://", "", url).rstrip("/")
        if url:
            found.add(url)
    return found


# -- grounding -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Grounds:
    """What a passage gives: its figures, links and e-mail addresses."""

    values: frozenset[Decimal]
    figures: frozenset[tuple[Decimal, str | None]]
    urls: frozenset[str]
    emails: frozenset[str]

    @classmethod
    def of(cls, text: str) -> Grounds:
        found = figures(text)
        return cls(
            values=frozenset(f.value for f in found),
            figures=frozenset((f.value, f.kind) for f in found),
            urls=frozenset(urls(text)),
            emails=frozenset(emails(text)),
        )

    def __or__(self, other: Grounds) -> Grounds:
        return Grounds(
            self.values | other.values,
            self.figures | other.figures,
            self.urls | other.urls,
            self.emails | other.emails,
        )


NOTHING = Grounds(frozenset(), frozenset(), frozenset(), frozenset())


def ungrounded(sentence: str, grounds: Grounds) -> str | None:
    """What in the sentence its passages do not give ("figure", "URL", "e-mail"), or None.

    A figure with a kind (currency, percent, a unit of time...) must match one of that value
    and kind; a bare number must match a value the passages give in any form.
    """
    text = _BULLET.sub("", sentence, count=1)
    if emails(text) - grounds.emails:
        return "e-mail address"
    if urls(text) - grounds.urls:
        return "URL"
    for figure in figures(_EMAIL.sub(" ", text)):
        if figure.kind is None:
            if figure.value not in grounds.values:
                return "figure"
        elif (figure.value, figure.kind) not in grounds.figures:
            return "figure"
    return None
