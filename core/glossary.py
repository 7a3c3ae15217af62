"""The bilingual domain glossary: words people ask with -> the documents' own Korean terms.

It is data (`knowledge/glossary.yaml`), edited by admins, validated and published with the
index by ingest, and used by the advisor to expand questions for the lexical side and to know
which role or topic a question is about. General vocabulary only, never question -> answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, PrivateAttr, ValidationError, field_validator

from core.files import inside, yaml_problem
from core.published import PublishedData

GLOSSARY_FILE = "glossary.yaml"
KINDS = ("role", "topic", "term", "uncovered")


class GlossaryError(ValueError):
    """The glossary file is invalid; the message names the entry."""


#: (length, Latin whole-word pattern or None, Korean morpheme run, folded phrase)
_Phrase = tuple[int, "re.Pattern[str] | None", tuple[str, ...], str]


class Term(BaseModel):
    """One concept: the ways people say it, and the words the documents use for it."""

    name: str
    kind: str = "term"
    say: list[str] = Field(default_factory=list)  # any language, matched case-insensitively
    ko: list[str] = Field(default_factory=list)  # the documents' words, added to the query

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        return value


class Glossary(PublishedData):
    terms: list[Term] = Field(default_factory=list)
    _cache: dict[Any, Any] = PrivateAttr(default_factory=dict)

    def matches(
        self,
        text: str,
        forms: Callable[[str], list[str]] | None = None,
        *,
        documents: bool = False,
    ) -> list[Term]:
        """Terms the text mentions, in order of appearance, each once.

        Latin phrases match whole words; Korean phrases match as a run of morphemes when
        `forms` (a morpheme analyser) is given, so "책임" does not fire inside "책임감"
        (without it, as substrings). Longer phrases win and matches do not overlap: "sales"
        and "rep" are not read separately inside "sales rep". `documents` also matches every
        term's `ko` words, as the documents say them (labelling statements at ingest).
        """
        low = f" {_fold(text)} "
        text_forms = tuple(forms(text)) if forms is not None else ()
        # Most phrases are absent: a cheap look for their first part rules them out.
        present = set(text_forms)
        # (space, start, end, term): Latin spans are characters of `low`, Korean spans are
        # morphemes (or characters without an analyser); they are compared within a space.
        candidates: list[tuple[str, int, int, int, Term]] = []
        for term, phrases in self._compiled(forms, documents):
            for length, latin, run, folded in phrases:
                if latin is not None:
                    if folded[:3] not in low:
                        continue
                    candidates += [
                        ("latin", m.start(), m.end(), length, term) for m in latin.finditer(low)
                    ]
                elif run:
                    if run[0] not in present:
                        continue
                    candidates += [
                        ("forms", i, i + len(run), length, term)
                        for i in _find_runs(text_forms, run)
                    ]
                else:
                    candidates += [
                        ("chars", m.start(), m.end(), length, term)
                        for m in re.finditer(re.escape(folded), low)
                    ]
        # Longest span first; on equal spans the longer phrase ("roles" over "role"+s).
        candidates.sort(key=lambda c: (-(c[2] - c[1]), -c[3], c[1]))
        taken: list[tuple[str, int, int]] = []
        found: dict[str, tuple[int, Term]] = {}
        for space, start, end, _length, term in candidates:
            # Labelling a statement, a word that is two terms' word is both ("단점" is the
            # cons and a half of the pros and cons); a question's word names one of them.
            same = documents and (space, start, end) in taken
            if not same and any(sp == space and start < e and s < end for sp, s, e in taken):
                continue
            taken.append((space, start, end))
            if term.name not in found:
                found[term.name] = (start, term)
        return [t for _, t in sorted(found.values(), key=lambda f: f[0])]

    def term(self, name: str) -> Term | None:
        """The term of that name, if the glossary has one."""
        by_name = self._cache.get("by_name")
        if by_name is None:
            by_name = {t.name: t for t in self.terms}
            self._cache["by_name"] = by_name
        return by_name.get(name)

    def _compiled(
        self, forms: Callable[[str], list[str]] | None, documents: bool = False
    ) -> list[tuple[Term, list[_Phrase]]]:
        """Phrases prepared once per glossary (and analyser): this runs for every question."""
        # A bound method is a new object on every attribute access: key by its instance.
        key = (id(getattr(forms, "__self__", forms)) if forms is not None else 0, documents)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        compiled: list[tuple[Term, list[_Phrase]]] = []
        for term in self.terms:
            phrases: list[_Phrase] = []
            # People name a role with the documents' words too ("상담원"); a topic is recognised by
            # how people ask about it, not by the documents' generic words ("고객", "직책").
            named_by_ko = documents or term.kind in _NAMED_BY_KO
            said = {*term.say, term.name, *(term.ko if named_by_ko else ())}
            for phrase in sorted(said, key=len, reverse=True):
                folded = _fold(phrase)
                if not folded:
                    continue
                if _LATIN.fullmatch(folded):
                    # "personalize" is also "personalizing", "personalized"; "schedule" is
                    # "scheduled". A longer phrase of another term ("training") still wins.
                    if folded.endswith("e") and folded[-2:-1].isalpha():
                        body = rf"{re.escape(folded[:-1])}(?:e|es|ed|ing)"
                    else:
                        body = rf"{re.escape(folded)}(?:s|es|ed|ing)?"
                    pattern = re.compile(rf"(?<![a-z]){body}(?![a-z])")
                    phrases.append((len(phrase), pattern, (), folded))
                else:
                    run = tuple(forms(folded)) if forms is not None else ()
                    phrases.append((len(phrase), None, run, folded))
            compiled.append((term, phrases))
        self._cache[key] = compiled
        return compiled


#: Kinds whose `ko` words are also how people name them: a role ("상담원"), and a concept the
#: documents do not cover, whose `ko` are the Korean words for it ("노조", "퇴직금").
_NAMED_BY_KO = frozenset({"role", "uncovered"})

_LATIN = re.compile(r"[a-z0-9 .'/&+-]+")


def _find_runs(haystack: tuple[str, ...], needle: tuple[str, ...]) -> list[int]:
    n = len(needle)
    return [i for i in range(len(haystack) - n + 1) if haystack[i : i + n] == needle] if n else []


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower()).strip()


def load_glossary(knowledge_dir: Path) -> Glossary:
    """Read and validate `glossary.yaml`; an absent file is an empty glossary."""
    path = knowledge_dir / GLOSSARY_FILE
    if not path.exists():
        return Glossary()
    if not inside(path, knowledge_dir):
        raise GlossaryError(f"{path.name}: a link to a file outside the knowledge directory")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise GlossaryError(f"{path.name}: {yaml_problem(exc)}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise GlossaryError(f"{path.name}: cannot be read as UTF-8") from exc
    if not isinstance(data, dict) or not isinstance(data.get("terms", []), list):
        raise GlossaryError(f"{path.name}: expected a mapping with a 'terms' list")
    terms: list[Term] = []
    names: set[str] = set()
    for n, entry in enumerate(data.get("terms", []), start=1):
        try:
            term = Term.model_validate(entry)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            label = entry.get("name", "?") if isinstance(entry, dict) else entry
            message = str(first["msg"]).removeprefix("Value error, ")
            raise GlossaryError(f"{path.name}: entry {n} ({label}): {where}: {message}") from exc
        if term.name in names:
            raise GlossaryError(f"{path.name}: entry {n}: the name '{term.name}' is used twice")
        if not term.ko:
            raise GlossaryError(
                f"{path.name}: entry {n} ({term.name}): 'ko' must list at least one term"
            )
        names.add(term.name)
        terms.append(term)
    return Glossary(terms=terms)
