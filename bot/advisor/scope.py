"""What a question hinges on that the documents never mention.

A question can use the domain's words (pay, shifts, call center) and still ask something the
documents cannot answer: a named company's pay, a country's law, a union. The nearest passage
is then not an answer, and presenting it as one misleads a job seeker. This module finds those
specifics; the advisor then says plainly that the documents don't cover them.

Three kinds of evidence, none of them a list of questions:
- a glossary concept of kind `uncovered` (data admins edit: "노조", "퇴직금", "certification");
- a proper noun no document contains: Kiwi's NNP ("쿠팡", "한국"), a foreign word in a Korean
  question ("KT"), a capitalised or acronym word in an English one ("Amazon", "LG");
- a year no document mentions ("2026년 시급");
- in English, a word that is neither the documents' nor everyday English: people type names in
  lower case ("does teleperformance pay better than concentrix", "is chuseok a paid holiday").
A word the glossary knows is never a specific: the glossary is how colloquial and English words
reach what the documents cover ("월급" is pay, "CSR" is a role).
"""

from __future__ import annotations

import re

from bot.advisor.analysis import GENERIC_WORDS, Language
from bot.advisor.knowledge import Snapshot
from core.glossary import Term
from core.korean import Tokenizer
from core.words import english_words

_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9+&'-]*")
_YEAR = re.compile(r"^(19|20)\d\d$")
#: English words that may be capitalised mid-sentence without naming anything ("I", "OK").
_ENGLISH_FUNCTION = frozenset(
    [
        "i",
        "i'm",
        "i've",
        "i'd",
        "im",
        "ok",
        "okay",
        "vs",
        "versus",
        "lol",
        "hi",
        "hello",
        "hey",
        "thanks",
        "please",
        "us",
        "we",
        "you",
        "my",
        "me",
    ]
)


#: Shorter words are typos and chat shorthand more often than names.
_RARE_MIN_CHARS = 5


def uncovered_words(terms: list[Term], text: str) -> list[str]:
    """The words the question used for `uncovered` concepts, longest first for each."""
    low = text.lower()
    return [
        p
        for term in terms
        if term.kind == "uncovered"
        for p in sorted((*term.say, *term.ko), key=len, reverse=True)
        if p.lower() in low
    ]


def uncovered_phrases(terms: list[Term], text: str, language: Language = "ko") -> list[str]:
    """For each `uncovered` concept the question names, what to call it in the reply: in
    Korean the concept's own name ("개인적인 결정", not "그만둘까요"), in English the words the
    question used for it (the concept names are Korean)."""
    out: list[str] = []
    for term in terms:
        if term.kind != "uncovered":
            continue
        if language == "ko":
            name = term.ko[0]
        else:
            used = uncovered_words([term], text)
            name = used[0] if used else term.name
        if name not in out:
            out.append(name)
    return out


def _known_words(snap: Snapshot, tokenizer: Tokenizer) -> frozenset[str]:
    """The documents' vocabulary plus every word of the glossary (cached per snapshot)."""
    known = snap.derived.get("known_words")
    if known is None:
        words: set[str] = set(snap.vocabulary)
        for term in snap.glossary.terms:
            if term.kind == "uncovered":
                continue
            for phrase in (term.name, *term.say, *term.ko):
                words.update(w.lower() for w in _LATIN_WORD.findall(phrase))
                words.update(tokenizer.tokens(phrase))
                # Kiwi may split a phrase alone ("인바운드") that it keeps whole in a question.
                words.update(phrase.lower().split())
        known = frozenset(words)
        snap.derived["known_words"] = known
    return known


def _compound_of_known(form: str, known: frozenset[str]) -> bool:
    """A word written without its space ("교대근무" for "교대 근무") is two known words."""
    return any(form[:i] in known and form[i:] in known for i in range(1, len(form)))


_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_HANGUL = re.compile(r"[가-힣]")
#: A ratio or a percentage written as a target ("80/20", "90%").
#: A ratio or a percentage a question may set as a target ("like 80/20?"); "24/7" is a time.
_TARGET = re.compile(r"\b(?!24/7\b)\d{1,3}/\d{1,3}\b|\b\d{1,3}%")


def _edits(word: str) -> list[str]:
    """Every string one edit from the word: a letter dropped, added, changed, or two swapped."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = [left + right[1:] for left, right in splits if right]
    out += [left + right[1] + right[0] + right[2:] for left, right in splits if len(right) > 1]
    out += [left + c + right[1:] for left, right in splits if right for c in _LETTERS]
    out += [left + c + right for left, right in splits for c in _LETTERS]
    return out


def _typo_of(word: str, words: frozenset[str]) -> bool:
    """Is the word one edit from an everyday word? Chat is typed fast: "custmers" is customers,
    not a company. (Some rare names are one edit from a word too, "genesys"; declining a real
    question is the worse mistake.)"""
    return any(e in words for e in _edits(word))


def correct_english(text: str, snap: Snapshot, tokenizer: Tokenizer) -> str:
    """The question with one-edit typos of the glossary's English words corrected ("custmers"
    -> "customers"), so the glossary still recognises what is asked."""
    known = _known_words(snap, tokenizer)
    everyday = english_words()

    def fix(m: re.Match[str]) -> str:
        word = m.group(0)
        low = word.lower()
        if len(low) < _RARE_MIN_CHARS or low in known or low in everyday:
            return word
        return next((e for e in _edits(low) if e in known and e.isalpha()), word)

    return _LATIN_WORD.sub(fix, text)


def _document_figures(snap: Snapshot) -> frozenset[str]:
    """Every ratio and percentage the documents write (once per snapshot: a question must
    not pass over every chunk)."""
    figures: frozenset[str] | None = snap.derived.get("target_figures")
    if figures is None:
        figures = frozenset(f for c in snap.chunks for f in _TARGET.findall(c.text))
        snap.derived["target_figures"] = figures
    return figures


def respace_korean(text: str, snap: Snapshot) -> str:
    """The question with the documents' several-word Korean names spaced as they write them
    ("자원계획관리자" -> "자원 계획 관리자"), so the glossary, the name check and the search
    see the name rather than one unknown word."""
    phrases: list[tuple[str, str]] | None = snap.derived.get("spaced_phrases")
    if phrases is None:
        spaced: dict[str, str] = {}
        names = [p for t in snap.glossary.terms for p in (*t.say, *t.ko)]
        names += [r.ko for r in snap.roles.roles]
        for phrase in names:
            if " " in phrase and _HANGUL.search(phrase):
                spaced.setdefault(phrase.replace(" ", ""), phrase)
        phrases = sorted(spaced.items(), key=lambda kv: -len(kv[0]))
        snap.derived["spaced_phrases"] = phrases
    for squashed, phrase in phrases:
        if squashed in text:
            text = text.replace(squashed, phrase)
    return text


#: Capitalised in English whatever the sentence, and names of nothing a document lacks: a
#: day or a month says when ("a Monday to Friday job"), not which company.
_CALENDAR = frozenset(
    {
        *("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        *("january", "february", "march", "april", "may", "june", "july", "august"),
        *("september", "october", "november", "december", "i"),
    }
)
#: Endings an everyday word takes ("personalizing" is "personalize", "scripted" "script").
_INFLECTIONS = ("ing", "ed", "es", "s", "ly", "er", "ers", "ation", "ations", "ment", "ments")


def _inflected(word: str, everyday: frozenset[str]) -> bool:
    """Is the word an everyday word with an ending ("personalizing", "multitasked")?"""
    for ending in _INFLECTIONS:
        stem = word[: -len(ending)]
        if not word.endswith(ending) or len(stem) < 3:
            continue
        forms = {stem} if ending == "s" else {stem, f"{stem}e"}
        if len(stem) > 3 and stem[-1] == stem[-2]:
            forms.add(stem[:-1])  # "running", "planned"
        if forms & everyday:
            return True
    return False


def _name_like(word: str, at_start: bool) -> bool:
    """An English word written as a name: capitalised mid-sentence, an acronym, or with digits."""
    if word.lower() in _ENGLISH_FUNCTION or word.lower() in _CALENDAR:
        return False
    letters = [c for c in word if c.isalpha()]
    if len(letters) < 2:
        return False  # "U.S.", "A or B": a letter alone names nothing
    if len(letters) >= 2 and all(c.isupper() for c in letters):
        return True
    if any(c.isdigit() for c in word):
        return True
    return word[0].isupper() and not at_start


#: Nouns that a company's or a place's name is put in front of ("토스 상담원", "쿠팡이츠 고객센터",
#: "은행 콜센터"): an unknown noun right before one of them names where, not what.
_ORG_HEADS = frozenset(
    {
        "콜센터",
        "고객센터",
        "컨택센터",
        "센터",
        "상담원",
        "상담사",
        "직원",
        "회사",
        "본사",
        "지점",
        "cs",
    }
)
_JOSA = re.compile(r"(에서|에게|으로|로|의|은|는|이|가|을|를|에|도|만)$")


def _eojeol(text: str, form: str) -> str:
    """The space-separated word of the question holding `form`, without its particle."""
    word = next((w for w in text.split() if form in w), form)
    return _JOSA.sub("", word.strip("?!.,")) or form


def unknown_names(text: str, language: Language, snap: Snapshot, tokenizer: Tokenizer) -> list[str]:
    """Proper nouns, foreign names and years in the question that no document contains."""
    known = _known_words(snap, tokenizer)
    found: list[str] = []

    def add(word: str) -> None:
        if word not in found:
            found.append(word)

    if language == "en":
        everyday = english_words()
        # Sentence starts are capitalised whatever the word; skip them.
        for sentence in re.split(r"(?<=[.!?])\s+|\n", text):
            for n, m in enumerate(_LATIN_WORD.finditer(sentence)):
                word = m.group(0).strip("'-")
                low = word.lower()
                # "CSRs", "KPIs": a plural of a known word is known.
                if not word or low in known or (low.endswith("s") and low[:-1] in known):
                    continue
                # "big-picture", "lead's": judge the parts of a compound or a possessive.
                parts = [p for p in re.split(r"['-]", low) if p and p != "s"]
                rare = any(
                    len(p) >= _RARE_MIN_CHARS
                    and p not in everyday
                    and not _inflected(p, everyday)
                    and not _typo_of(p, everyday)
                    for p in parts
                )
                if rare or _name_like(word, n == 0):
                    add(word)
        for year in re.findall(r"\b(?:19|20)\d\d\b", text):
            if year not in known:
                add(year)
        for figure in _TARGET.findall(text):
            if figure not in _document_figures(snap):
                add(figure)  # "like 80/20?": a target the documents never set
        return found
    morphemes = tokenizer.morphemes(text)
    for at, (form, tag) in enumerate(morphemes):
        following = [f.lower() for f, t in morphemes[at + 1 : at + 3] if t != "JKG"][:1]
        last = all(t.startswith("S") and t not in ("SL", "SN") for _, t in morphemes[at + 1 :])
        unknown = form not in known and not _compound_of_known(form, known)
        if tag == "NNP" and len(form) > 2 and form.endswith("어") and not last:
            continue  # a language ("한국어", "일본어"): language skills are the documents' topic
        if tag == "NNP" and len(form) > 1 and unknown and not (last and len(form) <= 2):
            # A short "name" closing the question is chat slang Kiwi does not know ("머임?").
            add(form)
        elif (
            tag == "NNG"
            and len(form) > 1
            and unknown
            and form not in GENERIC_WORDS  # "요즘 콜센터": when, not which company
            and following
            and following[0] in _ORG_HEADS
        ):
            add(_eojeol(text, form))
        elif tag == "SL":
            for word in _LATIN_WORD.findall(form):
                if word.lower() not in known and word.lower() not in _ENGLISH_FUNCTION:
                    add(word)
        elif tag == "SN" and _YEAR.match(form) and form not in known:
            add(f"{form}년")
    return found


#: Aspects whose absence for a role is said plainly rather than filled with the nearest
#: passage: a role's pay is what a job seeker acts on. Each maps to the labels that cover it.
CHECKED_ASPECTS: dict[str, frozenset[str]] = {
    "pay": frozenset({"pay", "highest paid"}),
    "reporting line": frozenset({"reporting line"}),
    # "기술" is a skill and a technology in these documents: a role's skills are what the
    # catalogue lists for it (written from the documents' skill lists), not every sentence
    # with the word.
    "skills": frozenset(),
}
ASPECT_NAMES: dict[str, dict[str, str]] = {
    "pay": {"ko": "급여", "en": "pay"},
    "reporting line": {"ko": "보고 라인", "en": "reporting line"},
    "skills": {"ko": "필요 기술", "en": "required skills"},
}
#: Aspects whose general statement is about the job as a whole (pay): the role is dropped
#: when offering it. For the others (who a role reports to) what the documents say of the
#: role itself is the closest statement, and the missing aspect is dropped instead.
GENERAL_WITHOUT_ROLE = frozenset({"pay"})


def coverage(snap: Snapshot) -> frozenset[tuple[str, str]]:
    """Every (role, aspect) some statement speaks to: its labelled subject or a role it names
    ("경험이 많은 상담원과 리더급 직책은 더 많은 임금을" covers agents' and leaders' pay)."""
    cached = snap.derived.get("coverage")
    if cached is None:
        # Labels only (set at ingest): one pass, no text analysis, whatever the corpus size.
        pairs: set[tuple[str, str]] = set()
        for chunk in snap.chunks:
            for unit in chunk.units:
                roles = {*unit.roles, *unit.mentions}
                pairs.update((role, aspect) for role in roles for aspect in unit.aspects)
        cached = frozenset(pairs)
        snap.derived["coverage"] = cached
    return cached


def uncovered_aspect(role: str, topics: list[str], snap: Snapshot) -> str | None:
    """The checked aspect the question asks of `role` that no statement speaks to, if any.

    Only roles of the catalogue are checked: a role it does not list (a CSR, an outbound
    agent) is a kind of agent, and what the documents say of agents applies to it. The
    catalogue's own pay notes count as coverage."""
    entry = snap.roles.get(role) if role else None
    if entry is None:
        return None
    covered = coverage(snap)
    listed = {"pay": bool(entry.pay), "skills": bool(entry.skills)}
    for aspect, labels in CHECKED_ASPECTS.items():
        if aspect not in topics or listed.get(aspect):
            continue
        if not any((role, label) in covered for label in labels):
            return aspect
    return None
