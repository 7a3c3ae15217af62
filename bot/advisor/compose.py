"""Extractive answers: quoted sentences and list items of the retrieved chunks, with markers."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

from bot.advisor.analysis import (
    ACRONYM,
    ROLE_ATTRIBUTES,
    Reading,
    asks_any_one,
    asks_figure,
    asks_meaning,
    asks_one,
    asks_pick,
    asks_quantity,
    compares,
)
from bot.advisor.knowledge import Snapshot
from bot.advisor.messages import say
from bot.advisor.models import Citation
from bot.advisor.retrieval import Concept, Hit, Retrieved
from core.index import Chunk, Unit
from core.korean import Tokenizer

#: Figures that age: percentages, money, job counts and forecasts to a year.
_AGING = re.compile(
    r"\d[\d,.]*\s*(%|퍼센트|달러|dollars?|원\b|개의?\s*(관련\s*)?일자리|jobs?)|\$\s?\d|\d{4}\s*년까지",
    re.I,
)
#: Sentences that lean on the one before them; quoting one alone would lose its subject.
_CONTINUES = re.compile(
    r"^(특히|또한|이는|이것은|그러나|하지만|즉|예를 들어|그래서|따라서|이러한|이렇게|그런 다음"
    r"|그들은|그들의|그는|그녀는|이들은)"
)
#: ...unless it names its own subject after the link word ("또한 콜센터 매니저는 ...").
_OWN_SUBJECT = re.compile(
    r"^(또한|그러나|하지만|그래서|따라서),?\s+(?!그|이)(\S+\s){0,2}\S+(은|는|이|가)\s"
)


#: A statement this short after the page's own questions answers them ("당신은 이미 자격을
#: 갖추고 있습니다!"); a longer one stands on its own ("콜센터의 가장 권위 있는 직책은 ...").
_LEANS_CHARS = 30


def _is_question(unit: Unit) -> bool:
    return unit.text.rstrip().endswith("?")


#: The page's signposts ("...에 대해 자세히 알아보겠습니다", "...을 확인하세요"): they announce
#: content, they are not content.
_SIGNPOST = re.compile(
    r"(알아보겠습니다|알아봅시다|알아보세요|살펴보겠습니다|살펴봅시다|소개합니다|확인하세요|확인해 보세요)\s*[.!]?\s*$"
)
#: A next sentence that spells out the one chosen ("특히 화가 난 발신자..."), not one that turns
#: to another point ("하지만 ..."): only these are quoted along.
_ELABORATES = re.compile(r"^(특히|즉|예를 들어|이는|이것은|여기에는)")
#: A yes or no that opens an answer ("네, 콜센터에서 일하면 ..."): what follows in its paragraph
#: qualifies it ("그러나 그것은 ... 달라집니다") and belongs with it.
_YES_NO = re.compile(r"^(네|예|아니요|아니오)\s*,")
#: At most this many such sentences follow the statement.
_ELABORATION = 2
_HAS_FIGURE = re.compile(r"\d")
#: Asked for an example: one item of a list answers.
_EXAMPLE = re.compile(r"예시|예를\s*들|사례|\bexamples?\b|\bfor instance\b", re.I)
_CLAUSE = re.compile(r"[,;]|지만|\bbut\b|\bwhile\b")
_EXACT = re.compile(
    r"구체적|정확한|정확히|숫자로|금액으로|\bexact(ly)?\b|\bspecific (amount|number|figure)"
    r"|\bin numbers\b|\bactual (amount|number|figure)",
    re.I,
)
_ITEM_CHARS = 220
_FACT_UNITS = 2
_LIST_ITEMS = 10
#: A statement labelled (at ingest) with an aspect the question asks about (pay, skills...)
#: answers it; one that shares words but speaks to another aspect does not. The bonus outweighs
#: the role fit (0.35), so "그 자리는 돈 얼마나 받아요?" gets the pay sentence, not a duty.
ASPECT_FIT = 0.4
#: ...and a statement speaking to none of the asked aspects is pushed down, not removed: a
#: question's aspect words can be missing from the statement that answers it.
ASPECT_MISS = 0.15
#: The job in general: statements with no named subject ("콜센터 직원은 ...", the seven
#: skills) describe call-center agents, so an agent's list may come from them.
GENERAL_ROLE = "agent"
#: A second list (another document's, on the same aspect) joins only when its heading and
#: lead-in speak to at least this share of the question: the seven skills for "what skills
#: does an agent need", not the note-taking tips.
SECOND_LIST_FIT = 0.4
#: A role's own section describes it first-hand; what other sections say of it is second.
OWN_SECTION = 0.5
#: ...and it defines the role in a sentence that opens with the role's name ("트레이너는 ...").
SUBJECT_FIT = 0.3
#: An aspect that few statements speak to ("재택", "야간") is found by its label even when the
#: search missed it; a broad one (skills, duties) is left to the search.
NARROW_ASPECT = 6
#: How much a statement's own similarity to the question counts (0..1 relative to the best
#: statement): enough to pick "375,000 jobs a year" over a role list that shares the word
#: "jobs", not enough to outvote the aspect asked.
SENTENCE_FIT = 0.3
#: A second statement joins a fact answer only if it is this close to the question (relative
#: to the best statement): a neighbour that merely shares words is padding.
COMPANION_FIT = 0.7
#: What a statement about the role asked gains, or one about another role loses.
ROLE_FIT = 0.35
#: ...and a statement naming the agent when the agent is asked: the job in general.
GENERAL_ROLE_FIT = 0.1
#: A follow-up that repeats the answer before it takes the next best statements instead only
#: when they score this share of the repeated one.
REPEAT_SHARE = 0.85
#: A fact's second statement scores at least this share of the first's, or it is padding.
COMPANION_SHARE = 0.85
#: A statement this close to a figure question (relative) may give the figure even when it
#: shares few words with it ("How much of the job is note-taking?" -> "작업의 25%").
FIGURE_NEAR = 0.6
#: Advice ("...하십시오", "...하려면", "도움이 될 수 있습니다") answers "how do I", not "why",
#: "is it" or "what is": pushed down when the question does not ask how.
ADVICE_UNASKED = 0.25
ADVICE_ASKED = 0.15
_ADVICE = re.compile(
    r"(십시오|세요|하자)\s*[.!]?\s*$|(관리하|피하|줄이|극복하|이기)려면|도움이\s*(될\s*수\s*있|됩니다|돼)"
    r"|피하는\s*데"
)
_ASKS_HOW = re.compile(
    r"어떻게|어케|어캐|어떡|방법|는\s*법|하는\s*법|팁|요령|노하우|피하|극복|관리|이겨|버티|해야|하려면"
    r"|\bhow (do|can|to|should|would)\b|\btips?\b|\bways?\b|\bavoid|\bprevent|\bcope|\bdeal(ing)?\s+with\b"
    r"|\bmanage|\bhandle|\bshould i\b|\bbest practices?\b",
    re.I,
)
#: A question asking for a reason.
_ASKS_WHY = re.compile(r"왜|이유|어째서|\bwhy\b|\bhow come\b|\breason", re.I)
#: A statement that gives a reason itself.
_GIVES_REASON = re.compile(r"때문|위해|므로|덕분|따라서|그래서|이유|의미합니다|즉,|because|so that")
#: A statement sharing this much of a "why" question's concepts restates what is asked; the
#: reason is then the sentence beside it ("9-to-5 역할만 찾고 있다면..." / "...24시간 내내").
RESTATES = 0.5
#: ...or a neighbour this close to the question (relative closeness), when none gives a
#: reason in so many words.
REASON_NEAR = 0.6
#: A statement giving a figure of the kind asked (per minute, per hour, a percentage).
FIGURE_KIND = 0.3
#: Statements most similar to the question are candidates even when the search did not
#: return their chunk.
SEMANTIC_RECALL = 3
#: A question in parts gets up to this many statements, one per part...
_PART_UNITS = 3
#: ...each within this share of the best statement's score (a part the documents barely
#: touch is not answered with a stray sentence).
PART_FLOOR = 0.5
#: A list item whose own heading shares this share of its words with the question is the
#: answer alone, when no other item's heading shares half as much.
ITEM_NAMED = 0.6
#: How much a list's lead-in labelled with the asked aspects counts when choosing the list.
ANCHOR_ASPECT = 0.5
#: A figure of a kind: asked for (question) and given (statement). "Calls per hour" is not
#: answered by "50 customers a day", nor "what percent" by a count.
_FIGURE_UNITS = (
    (re.compile(r"%|퍼센트|프로|\bpercent", re.I), re.compile(r"%|퍼센트")),
    (re.compile(r"per hour|an hour|\bhourly|시간당|한 시간에", re.I), re.compile(r"시간당")),
    (
        re.compile(r"how fast|\bspeed|\bwpm\b|per minute|빨라|빠르|속도|분당", re.I),
        re.compile(r"분당"),
    ),
    (re.compile(r"팀당|per team|a team", re.I), re.compile(r"팀당")),
    # How many years (tenure, experience): a year named ("2032년까지") is not a duration.
    (
        re.compile(r"몇\s*년|\bhow many years\b|\bhow long\b.{0,30}\byears?\b", re.I),
        re.compile(r"\d+\s*(년\s*(이상|동안|간|차|정도|이내|만에)|years?\b)"),
    ),
    # A year's or a month's pay: the documents' hourly figure is not it.
    (
        re.compile(
            r"\b(median|annual|yearly|average annual)\s+(pay|salary|wage|income|earnings)"
            r"|\b(salary|pay|wages?)\s+(a|per)\s+year\b|평균\s*연봉|연봉\s*평균|연봉\s*중간값",
            re.I,
        ),
        re.compile(r"연봉\s*(약\s*)?\d|연간\s*\d|per year"),
    ),
    # A shift's or a working day's hours: "24시간 운영" is when centers open, not how long
    # anyone works.
    (
        re.compile(
            r"hours? (a|per|each) (day|shift|week)|how long\b.{0,40}\bshifts?|shift length"
            r"|\bhours?\b.{0,30}\bshifts?\b|\bshifts?\b.{0,30}\bhours?\b"
            r"|하루\s*(에\s*)?몇\s*시간|몇\s*시간\s*(일|근무|교대|씩)|근무\s*시간.{0,8}(몇|얼마)",
            re.I,
        ),
        re.compile(r"하루\s*\d+\s*시간|\d+\s*시간\s*(교대|근무|씩)|주\s*\d+\s*시간"),
    ),
    (
        re.compile(r"\b(a|per) day\b|\bdaily\b|하루에|일일|매일", re.I),
        re.compile(r"하루|매일|일일"),
    ),
    # How long something takes, in minutes: "24시간 운영" is not a call's length.
    (
        re.compile(r"\bminutes?\b|몇\s*분(?!당|야|이|의)|\bhow many mins?\b", re.I),
        re.compile(r"\d+\s*분(?!당)"),
    ),
)
#: A question naming how many things it wants ("the 7 skills", "일곱 가지", "7가지").
_COUNTED = re.compile(
    r"\b(?P<n>[2-9]|two|three|four|five|six|seven|eight|nine)\s+(?:main\s+|key\s+)?\w+"
    r"|(?P<k>[2-9]|두|세|네|다섯|여섯|일곱|여덟|아홉)\s*가지",
    re.I,
)
_COUNT_WORDS = {
    **dict.fromkeys(["two", "두"], 2),
    **dict.fromkeys(["three", "세"], 3),
    **dict.fromkeys(["four", "네"], 4),
    **dict.fromkeys(["five", "다섯"], 5),
    **dict.fromkeys(["six", "여섯"], 6),
    **dict.fromkeys(["seven", "일곱"], 7),
    **dict.fromkeys(["eight", "여덟"], 8),
    **dict.fromkeys(["nine", "아홉"], 9),
}


def _count(m: re.Match[str]) -> int:
    word = (m.group("n") or m.group("k")).lower()
    return int(word) if word.isdigit() else _COUNT_WORDS[word]


def _figure_kinds(question: str) -> list[re.Pattern[str]]:
    """How a statement gives each kind of figure the question asks for."""
    return [given for asked, given in _FIGURE_UNITS if asked.search(question)]


#: Items per role when several roles are answered side by side.
_ROLE_ITEMS = 6

#: An item picked by what it is about must score this much (its share of the question's
#: concepts plus its closeness to the question, 0-2), and this much more than the next item;
#: otherwise the whole list is the answer (no item stands out).
PICK_FLOOR = 0.5
#: A question this short naming an acronym asks what it is ("what's a TSR?").
_SHORT_WORDS = 5
#: Korean words carry their particles: "팀 리더는 어때?" is a bare question about the role.
_SHORT_WORDS_KO = 3
#: "두 자료에서 ... 어떻게 달라?", "in both articles": every document's account is asked for.
_EVERY_SOURCE = re.compile(
    r"(두|각|모든|양쪽)\s*(자료|문서|글|기사)|\b(both|each|two)\s+(documents?|articles?|sources?)\b",
    re.I,
)
PICK_MARGIN = 0.15
#: A list the search missed is picked from when one of its statements is this close to the
#: question (relative closeness: 1 is the closest statement of all).
NEAREST_LIST_FIT = 0.85
#: A lead-in stands for its list when its items are this short on average (a word or a
#: phrase: "하룻밤", "주말"); longer items say more than the lead-in and are judged themselves.
LEAD_ITEM_CHARS = 80
#: Words by which a lead-in points forward ("다음과 같습니다", "the following"); it must say
#: this many characters besides them to stand for its list.
_FORWARD = re.compile(
    r"(은|는|에는|에)?\s*다음(과|을|이|의)?\s*(같습니다|같은|수행할 수 있습니다|포함됩니다|포함)?"
    r"|아래|the following|as follows|[:：]",
    re.I,
)
LEAD_OWN_CHARS = 8


@dataclass
class Composition:
    text: str
    citations: list[Citation]
    focus_section: str = ""
    #: What the question asked that the quoted statements do not give ("figure"): the reply
    #: says so first and the statements are labelled as general.
    missing: str = ""
    #: The text in its parts: the opening line and the quoted lines (`focus_section` names
    #: the closing hint).
    intro: str = ""
    body: list[str] = field(default_factory=list)


def _laid_out(lines: list[str], section: str, language: str) -> str:
    """An answer's lines, with the hint to ask more about `section` after a blank line."""
    if len(lines) < 2:
        return ""
    hint = ["", say("more_hint", language, section=section)] if section else []
    return "\n".join([*lines, *hint])


_MARKER = re.compile(r"\[(\d+)\]")


def merge_parts(parts: list[Composition], language: str) -> Composition:
    """The answers to a question's parts as one answer: one opening line, each part's quoted
    lines in order (a line already given is not repeated), the citations renumbered so that
    a passage cited by two parts keeps one marker, and the first part's hint."""
    citations: list[Citation] = []
    by_chunk: dict[str, int] = {}
    body: list[str] = []
    seen: set[str] = set()
    for part in parts:
        renumber: dict[int, int] = {}
        for citation in part.citations:
            if citation.chunk_id not in by_chunk:
                by_chunk[citation.chunk_id] = len(citations) + 1
                citations.append(citation.model_copy(update={"marker": len(citations) + 1}))
            else:
                kept = citations[by_chunk[citation.chunk_id] - 1]
                if citation.text and citation.text not in kept.text:
                    kept.text = _first_sentence(f"{kept.text} … {citation.text}", 300)
            renumber[citation.marker] = by_chunk[citation.chunk_id]

        def marker(m: re.Match[str], renumber: dict[int, int] = renumber) -> str:
            return f"[{renumber.get(int(m.group(1)), m.group(1))}]"

        for line in part.body:
            key = re.sub(r"\W+", "", _MARKER.sub("", line))
            if key in seen:
                continue
            seen.add(key)
            body.append(_MARKER.sub(marker, line))
    intro = parts[0].intro
    section = next((p.focus_section for p in parts if p.focus_section), "")
    return Composition(
        text=_laid_out([intro, *body], section, language),
        citations=citations,
        focus_section=section,
        intro=intro,
        body=body,
    )


@dataclass
class _Picked:
    unit: Unit
    hit: Hit
    score: float
    nearness: float = 0.0  # similarity to the question, relative (see `_closeness`)


def _first_sentence(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    m = re.search(r"[.!?。](\s|$)", text[: limit + 1])
    if m and m.end() > limit * 0.4:
        return text[: m.end()].strip()
    return text[:limit].rstrip() + "…"


@dataclass(frozen=True)
class RoleNames:
    """The roles a question asks about, and how to tell which role a text is about."""

    asked: frozenset[str]  # role ids (glossary names) the question names or carries over
    names: tuple[tuple[str, str], ...]  # (Korean name, role id) of every role, longest first
    opening: re.Pattern[str]  # a sentence opening with a role name as its subject

    @classmethod
    def build(cls, snap: Snapshot, asked: list[str]) -> RoleNames:
        # Answers compose in worker threads: both values go in as one entry, so a thread never
        # sees one without the other (a second thread may build them too; same result).
        built = snap.derived.get("role_names")
        if built is None:
            roles = [t for t in snap.glossary.terms if t.kind == "role"]
            primary = {(t.ko[0], t.name) for t in roles if t.ko}
            pairs = {(k, t.name) for t in roles for k in t.ko}
            # Longest name first; a name two roles share ("트레이너" is also the coach's word)
            # is the role whose own name it is first, then alphabetical: the same order in
            # every process, whatever the hash seed.
            names = tuple(
                sorted(pairs, key=lambda kv: (-len(kv[0]), kv not in primary, kv[0], kv[1]))
            )
            alternatives = "|".join(re.escape(name) for name, _ in names) or "(?!)"
            built = (names, re.compile(rf"({alternatives})(?:은|는|이|가)\s"))
            snap.derived["role_names"] = built
        names, opening = built
        return cls(asked=frozenset(asked), names=names, opening=opening)

    def within(self, text: str) -> str | None:
        """The role whose longest Korean name occurs in the text."""
        return next((role for name, role in self.names if name in text), None)

    def labelled(self, text: str) -> str | None:
        """The role an item describes ("고객 계정 관리자: ...", "최고고객책임자(CCO): ...").
        A bare name ("고객 서비스 담당자(CSR)") describes nothing."""
        head, colon, rest = text.partition(":")
        if not colon or len(head) > 30 or len(rest.strip()) < 10:
            return None
        head = head.split("(")[0]
        return next((role for name, role in self.names if name in head), None)

    def subject_of(self, text: str) -> str | None:
        """The role a sentence opens with as its subject ("감독자는 ...", "트레이너는 ...")."""
        m = self.opening.match(text)
        return dict(self.names).get(m.group(1)) if m else None

    def is_subject_of(self, text: str) -> bool:
        """Does the sentence open with an asked role as its subject ("트레이너는 ...")?"""
        return self.subject_of(text) in self.asked

    def subject(self, unit: Unit, chunk: Chunk) -> str | None:
        """Whom a statement is about: its label, its grammatical subject, else its section."""
        return (
            self.labelled(unit.text)
            or self.subject_of(unit.text)
            or self.within(chunk.section.split(" > ")[-1])
        )


class Composer:
    def __init__(self, tokenizer: Tokenizer, max_chars: int = 900) -> None:
        self.tok = tokenizer
        self.max_chars = max_chars
        # Units repeat across questions; tokenising each once keeps composing to a few ms.
        self._tokens = lru_cache(maxsize=50_000)(lambda text: frozenset(tokenizer.tokens(text)))

    # -- scoring -------------------------------------------------------------------------
    def _unit_tokens(self, unit: Unit) -> frozenset[str]:
        return self._tokens(unit.text)

    @staticmethod
    def _overlap(tokens: frozenset[str] | set[str], concepts: list[Concept]) -> float:
        """Weighted share of the question's concepts the text speaks about."""
        total = sum(c.weight for c in concepts)
        got = sum(c.weight for c in concepts if c.met_by(tokens))
        return got / total if total else 0.0

    @staticmethod
    def _role_fit(unit: Unit, chunk: Chunk, roles: RoleNames) -> float:
        """Prefer what is said about the role asked about; avoid what is said about another."""
        if not roles.asked:
            return 0.0
        subject = roles.subject(unit, chunk)
        if subject is None:
            return 0.0
        if subject not in roles.asked:
            return -ROLE_FIT
        # The agent is the job in general: statements without the word speak of them too
        # ("회사에 리콜이 발생하면 ... 초과 근무를" answers what happens to agents).
        return GENERAL_ROLE_FIT if subject == GENERAL_ROLE else ROLE_FIT

    def _candidates(
        self,
        retrieved: Retrieved,
        hits: list[Hit],
        question: str,
        roles: RoleNames,
        aspects: frozenset[str] = frozenset(),
        close: dict[tuple[str, int], float] | None = None,
        general: bool = False,
        avoid: str = "",
        leads: bool = False,
    ) -> list[_Picked]:
        """Every statement of the hits, scored against the question, best first. With `leads`,
        a list's lead-in is a candidate too: it stands for its list ("콜센터 직원은 다양한
        교대 근무를 할 수 있습니다." answers "what shifts?" with the shifts under it)."""
        top = max((h.fused for h in retrieved.hits), default=1.0) or 1.0
        wants_figure = asks_quantity(question)
        picked: list[_Picked] = []
        close = close or {}
        strict = general and bool(aspects)
        units_asked = _figure_kinds(question)
        how = bool(_ASKS_HOW.search(question))
        for hit in hits:
            for at, unit in enumerate(hit.chunk.units):
                # A lead-in or a rhetorical question from the page is not an answer.
                if unit.text.rstrip().endswith("?"):
                    continue
                if unit.kind == "lead" and not (leads and self._lead_stands(unit, hit.chunk)):
                    continue
                if _SIGNPOST.search(unit.text):
                    continue
                if avoid and unit.text in avoid:
                    continue  # "또 뭐 알면 좋아?": what the last answer said is not news
                if strict and not aspects & set(unit.aspects):
                    continue  # offered as general: only what speaks to the aspect asked
                # A statement is read under its heading ("타자 능력" > "분당 약 60단어...").
                overlap = self._overlap(
                    self._unit_tokens(unit) | self._tokens(hit.chunk.section), retrieved.concepts
                )
                score = 0.6 * overlap + 0.4 * hit.fused / top
                # "몇 명", "how much": the on-topic statement holding a figure is the answer.
                on_aspect = bool(aspects & set(unit.aspects))
                nearness = close.get((hit.chunk.id, at), 0.0)
                near = overlap >= 0.3 or on_aspect or nearness >= FIGURE_NEAR
                if _ADVICE.search(unit.text):
                    # "is it hard?" is not "how do I cope?", and "how do I cope?" is not "it is
                    # hard": advice answers only the question asking for it.
                    score += ADVICE_ASKED if how else -ADVICE_UNASKED
                if units_asked and any(given.search(unit.text) for given in units_asked):
                    score += FIGURE_KIND  # "분당 약 60단어" for "how fast must I type?"
                if wants_figure and near and _HAS_FIGURE.search(unit.text):
                    score += 0.25
                score += self._role_fit(unit, hit.chunk, roles)
                if aspects:
                    score += ASPECT_FIT if on_aspect else -ASPECT_MISS
                if roles.asked and roles.is_subject_of(unit.text):
                    score += 0.15  # "트레이너는 ...": a sentence defining the role asked about
                score += SENTENCE_FIT * nearness
                picked.append(_Picked(unit, hit, score, nearness))
        picked.sort(key=lambda p: p.score, reverse=True)
        return picked

    @staticmethod
    def _lead_stands(unit: Unit, chunk: Chunk) -> bool:
        """Is the lead-in a statement of its own, whose list spells it out ("콜센터 직원은
        다양한 교대 근무를 할 수 있습니다."), not a bare "주요 업무는 다음과 같습니다:"?"""
        items = [u for u in chunk.units if u.kind == "item"]
        if not items or sum(len(u.text) for u in items) / len(items) >= LEAD_ITEM_CHARS:
            return False
        # "최고의 콜센터 커뮤니케이터는 다음을 수행할 수 있습니다." says whose list it is; a bare
        # "주요 업무는 다음과 같습니다:" says nothing beyond pointing forward.
        said = _FORWARD.sub("", unit.text)
        return len(re.sub(r"\W", "", said)) >= LEAD_OWN_CHARS

    def _structure_bonus(self, chunk: Chunk, concepts: list[Concept]) -> float:
        lead = next((u.text for u in chunk.units if u.kind == "lead"), "")
        return self._overlap(self._tokens(f"{chunk.section} {lead}"), concepts)

    # -- composing -----------------------------------------------------------------------
    @staticmethod
    def _closeness(snap: Snapshot, retrieved: Retrieved) -> dict[tuple[str, int], float]:
        """Each statement's similarity to the question, relative: 1 for the closest, 0 for the
        median statement and below. Empty without vectors."""
        built = snap.unit_matrix()
        if built is None or retrieved.vector is None:
            return {}
        matrix, keys = built
        if matrix.shape[1] != retrieved.vector.shape[0]:
            return {}
        sims = matrix @ retrieved.vector
        floor, top = float(np.median(sims)), float(sims.max())
        rel = np.clip((sims - floor) / max(top - floor, 1e-6), 0.0, 1.0)
        return {key: float(r) for key, r in zip(keys, rel, strict=True) if r > 0}

    def _with_labelled(
        self,
        snap: Snapshot,
        retrieved: Retrieved,
        asked: list[str],
        close: dict[tuple[str, int], float],
    ) -> Retrieved:
        """The retrieved hits plus the chunks of statements labelled with a narrow asked aspect
        that the search did not return, ranked just below the best hits."""
        by_aspect = snap.derived.get("aspect_chunks")
        if by_aspect is None:  # once per snapshot, linear in its statements
            found: dict[str, dict[str, None]] = {}
            for chunk in snap.chunks:
                for unit in chunk.units:
                    for aspect in unit.aspects:
                        found.setdefault(aspect, {})[chunk.id] = None
            by_aspect = {aspect: list(ids) for aspect, ids in found.items()}
            snap.derived["aspect_chunks"] = by_aspect
        have = {h.chunk.id for h in retrieved.hits}
        nearest = sorted(close, key=lambda k: close[k], reverse=True)[:SEMANTIC_RECALL]
        extra = [
            cid
            for aspect in asked
            if len(by_aspect.get(aspect, ())) <= NARROW_ASPECT
            for cid in by_aspect.get(aspect, ())
            if cid not in have
        ] + [cid for cid, _ in nearest if cid not in have and cid in snap.by_id]
        if not extra or not retrieved.hits:
            return retrieved
        fused = retrieved.hits[min(2, len(retrieved.hits) - 1)].fused
        added = [Hit(snap.chunks[snap.by_id[cid]], 0.0, 0.0, fused) for cid in dict.fromkeys(extra)]
        return replace(retrieved, hits=[*retrieved.hits[:3], *added, *retrieved.hits[3:]])

    def compose(
        self,
        snap: Snapshot,
        reading: Reading,
        retrieved: Retrieved,
        max_chars: int | None = None,
    ) -> Composition:
        """The answer to the question; `max_chars` narrows the budget (a question's part)."""
        writer = self._compose(snap, reading, retrieved, max_chars or self.max_chars)
        before = reading.answered_before
        # Offered as general ("not for that role, but in general: ..."), what was said of the
        # role is the right thing to say again.
        if before and not reading.specifics and writer.citations and self._repeats(writer, before):
            # A follow-up answered with what was just said: the next best statements, if any.
            again = self._compose(
                snap,
                replace(reading, said_before=f"{reading.said_before} {before}"),
                retrieved,
                max_chars or self.max_chars,
            )
            # ...unless they answer it worse than the repeat: "and the more experienced
            # ones?" after the entry-level pay is answered by the same sentence.
            if (
                again.citations
                and not self._repeats(again, before)
                and again.top_score >= writer.top_score * REPEAT_SHARE
            ):
                writer = again
        # The job in general (agents, and the agent kinds the catalogue does not list) is what
        # statements without a named subject describe; any other role must be named.
        subjects = {
            r
            for r in {*reading.roles, *([reading.focus] if reading.carried_focus else [])}
            if r != GENERAL_ROLE and snap.roles.get(r) is not None
        }
        if writer.lines and self._figure_missing(snap, reading.text, writer, subjects):
            # Asked for a number the documents do not give: say so, then what they do say,
            # labelled as general.
            writer.missing = "figure"
            writer.lines[0] = say("intro_general", writer.language)
        self._note_twin(snap, reading, writer)
        return writer.finish()

    @staticmethod
    def _repeats(writer: _Writer, before: str) -> bool:
        """Is everything the answer quotes already in the answer before it?"""
        said = re.sub(r"\W+", "", before)
        quoted = writer.quoted()
        return bool(quoted) and all(re.sub(r"\W+", "", t) in said for t in quoted)

    def _note_twin(self, snap: Snapshot, reading: Reading, writer: _Writer) -> None:
        """Asked of one role whose section the documents share with another ("코치" is kept
        under "트레이너"): say that the quoted text is the other's, in the same words."""
        asked = reading.roles if len(reading.roles) == 1 else []
        asked = asked or ([reading.focus] if reading.carried_focus else [])
        if len(asked) != 1 or not writer.citations:
            return
        at = snap.by_id.get(writer.citations[0].chunk_id)
        if at is None:
            return
        chunk = snap.chunks[at]
        names = RoleNames.build(snap, [])
        # Whichever of the two headings the section was kept under, it is both roles' text.
        shared = {names.within(h) for h in [chunk.section.split(" > ")[-1], *chunk.also_under]}
        others = sorted(r for r in shared - {asked[0]} if r)
        if asked[0] in shared and others:
            role = snap.roles.get(others[0])
            name = (role.ko if writer.language == "ko" else role.en) if role else others[0]
            writer.line(say("same_as", writer.language, other=name))

    def _figure_missing(
        self, snap: Snapshot, question: str, writer: _Writer, subjects: set[str]
    ) -> bool:
        """Was a number asked for that no quoted statement gives: of the kind asked, and about
        the role asked (the entry-level hourly figure is not the CCO's pay)?"""
        if not asks_figure(question):
            return False
        if not writer.figures:
            return True
        quoted = " ".join(writer.figures)
        if any(not given.search(quoted) for given in _figure_kinds(question)):
            return True
        if not subjects:
            return False
        # "리더급 직책은 더 많은 임금을" answers "그 자리는 돈 얼마나 받아요?" beside the
        # entry-level figure; asked for an exact amount, only the role the number is about
        # counts: the clause holding the number.
        exact = bool(_EXACT.search(question))
        named = {
            t.name
            for text in writer.figures
            for clause in (_CLAUSE.split(text) if exact else [text])
            if _HAS_FIGURE.search(clause)
            for t in snap.glossary.matches(clause, self.tok.forms, documents=True)
            if t.kind == "role"
        }
        return not named & subjects

    def _compose(
        self, snap: Snapshot, reading: Reading, retrieved: Retrieved, max_chars: int
    ) -> _Writer:
        close = self._closeness(snap, retrieved)
        if not reading.list_type:  # a list is anchored on what the search found
            retrieved = self._with_labelled(snap, retrieved, reading.topics, close)
        writer = _Writer(reading.language, max_chars, general=bool(reading.specifics))
        hits = retrieved.hits[:5]
        if not hits:
            return writer
        # A role steers the answer only when the question is about the role itself (its duties,
        # skills, pay...), not when it asks about a topic and merely mentions who is involved.
        # "Is the CCO the best paid?" is about the CCO; "which roles pay more?" after a question
        # about agents is not about agents (the advisor does not carry the focus for it).
        about_role = all(t in ROLE_ATTRIBUTES | {"highest paid"} for t in reading.topics)
        asked = (
            (list(reading.roles) + ([reading.focus] if reading.carried_focus else []))
            if about_role
            else []
        )
        roles = RoleNames.build(snap, asked)
        aspects = frozenset(reading.topics)
        if len(reading.roles) >= 2 and compares(reading.text):
            self._write_per_role(snap, reading, retrieved, writer, aspects)
            return writer
        pick = asks_pick(reading.text)
        # "what's a TSR?": the item that spells it out, not the list it is in.
        spelled = (
            pick is None
            and ACRONYM.search(reading.text) is not None
            and (
                asks_meaning(reading.text)
                or (len(reading.text.split()) <= _SHORT_WORDS and not reading.topics)
            )
        )
        if (pick is not None or spelled) and self._write_picked(
            snap, retrieved, reading, roles, close, pick or 0, writer, spelled_only=spelled
        ):
            return writer
        # "주된 책임 두 가지가 뭐예요?" names the list it wants by its count, list cue or not.
        anchor = self._counted_list(snap, retrieved, reading.text, aspects)
        if reading.list_type:
            anchor = anchor or self._anchor(snap, retrieved, roles, aspects)
        if (
            anchor is not None
            and anchor.chunk.kind == "row"
            and self._singles_out_row(snap, anchor, retrieved)
        ):
            anchor = None
        named = [c for c in retrieved.concepts if c.named]
        if anchor is not None and not (
            named and all(c.met_by(frozenset(anchor.chunk.tokens)) for c in named)
        ):
            # The question's own specifics ("상담원이랑 경영진 사이") can point at one statement
            # far better than at the list: then that statement is the answer.
            best_unit = max(
                (
                    self._overlap(self._unit_tokens(u), retrieved.concepts)
                    for h in hits
                    for u in h.chunk.units
                ),
                default=0.0,
            )
            if best_unit - self._overlap(frozenset(anchor.chunk.tokens), retrieved.concepts) > 0.35:
                anchor = None
        if anchor is not None:
            self._write_structured(snap, reading, retrieved, anchor, writer, roles)
        elif reading.list_type and not roles.asked:
            self._write_bullets(retrieved, hits, writer, reading.text, roles, aspects, close)
        else:
            self._write_fact(
                snap,
                retrieved,
                writer,
                reading.text,
                roles,
                aspects,
                close,
                reading.topics,
                reading.said_before,
                extra=self._role_hits(snap, roles, aspects, retrieved),
            )
        # What a role does (or a bare "and the QA specialist?"), from every document; not
        # beside one fact about the role ("does a team leader meet anyone regularly?").
        bare = _SHORT_WORDS if reading.language == "en" else _SHORT_WORDS_KO
        about_whole_role = aspects == {"duties"} or (
            not aspects
            and (len(reading.text.split()) <= bare or bool(_EVERY_SOURCE.search(reading.text)))
        )
        if len(roles.asked) == 1 and about_whole_role and writer.lines:
            self._other_description(snap, roles, next(iter(roles.asked)), writer)
        return writer

    def _write_picked(
        self,
        snap: Snapshot,
        retrieved: Retrieved,
        reading: Reading,
        roles: RoleNames,
        close: dict[tuple[str, int], float],
        pick: int,
        writer: _Writer,
        *,
        spelled_only: bool = False,
    ) -> bool:
        """One item of a list, picked by its place ("5번째") or by what it is about ("단점 중에
        몸이 지치는 거"), not the whole list. False when no list answers, or no item stands out."""
        aspects = frozenset(reading.topics)
        anchor = (
            self._counted_list(snap, retrieved, reading.text, aspects)
            or self._anchor(snap, retrieved, roles, aspects)
            or self._nearest_list(snap, retrieved, close)
        )
        if anchor is None or anchor.chunk.kind not in {"list", "row"}:
            return False
        lead = self._lead(anchor.chunk)
        if anchor.chunk.kind == "row":
            # A table: its cells, of the column asked for when the question names one
            # ("단점 중에 ...": the cons column).
            rows = [c for c in snap.siblings(anchor.chunk) if c.kind == "row"]
            cells = [(u, c, i) for c in rows for i, u in enumerate(c.units) if u.kind == "cell"]
            column = [
                t
                for t in cells
                if aspects
                & (
                    self._head_aspects(snap, t[0].label)
                    | {
                        term.name
                        for term in snap.glossary.matches(
                            t[0].label, self.tok.forms, documents=True
                        )
                        if term.kind == "topic"
                    }
                )
            ]
            items = column or cells
        else:
            parts = self._list_parts(snap, anchor.chunk)
            items = [(u, c, i) for c in parts for i, u in enumerate(c.units) if u.kind == "item"]
        if len(items) < 2:
            return False
        # In the order asked ("CSR and TSR"), whatever the hash seed.
        acronyms = list(dict.fromkeys(a.rstrip("s") for a in ACRONYM.findall(reading.text)))
        each = [[t for t in items if a in t[0].text] for a in acronyms]
        if not pick and each and all(len(found) == 1 for found in each):
            # Each acronym asked about, by the one item that spells it out ("CSR랑 TSR").
            writer.intro(say("intro_fact", writer.language))
            for found in each:
                unit, chunk, _ = found[0]
                writer.statement(unit.text, Hit(chunk, 0, 0, anchor.fused))
            writer.hint_section(anchor.chunk.section)
            return True
        if spelled_only:
            return False
        elif pick:
            if pick > len(items):
                return False
            unit, chunk, _ = items[pick - 1] if pick > 0 else items[-1]
            pick = pick if pick > 0 else len(items)
        else:
            # What the question says beyond naming the list ("몸이 지치는 거"), against each
            # item: its words and its closeness to the question.
            named = self._tokens(f"{anchor.chunk.section} {lead.text if lead else ''}")
            concepts = [c for c in retrieved.concepts if not c.met_by(named)] or retrieved.concepts
            scored = sorted(
                (
                    (
                        self._overlap(self._unit_tokens(u), concepts) + close.get((c.id, i), 0.0),
                        u,
                        c,
                    )
                    for u, c, i in items
                ),
                key=lambda t: t[0],
                reverse=True,
            )
            if scored[0][0] >= PICK_FLOOR and scored[0][0] - scored[1][0] >= PICK_MARGIN:
                _, unit, chunk = scored[0]
            elif asks_any_one(reading.text):
                unit, chunk, _ = items[0]  # "장점 하나만": none stands out, so the first
            else:
                return False
        writer.intro(say("intro_fact", writer.language))
        if lead is not None and pick:
            writer.line(lead.text)
        writer.statement(
            f"{pick}. {unit.text}" if pick else unit.text, Hit(chunk, 0, 0, anchor.fused)
        )
        writer.hint_section(chunk.section)
        return True

    @staticmethod
    def _nearest_list(
        snap: Snapshot, retrieved: Retrieved, close: dict[tuple[str, int], float]
    ) -> Hit | None:
        """The list or table holding one of the statements nearest the question, when the
        search ranked it too low to anchor on ("which one is about record keeping?")."""
        top = max((h.fused for h in retrieved.hits), default=1.0) or 1.0
        for key in sorted(close, key=lambda k: close[k], reverse=True)[:SEMANTIC_RECALL]:
            at = snap.by_id.get(key[0])
            if at is None or close[key] < NEAREST_LIST_FIT:
                break
            chunk = snap.chunks[at]
            if chunk.kind in {"list", "row"}:
                return Hit(chunk, 0.0, 0.0, top)
        return None

    def _reason_beside(
        self,
        first: _Picked,
        question: str,
        retrieved: Retrieved,
        close: dict[tuple[str, int], float],
    ) -> _Picked | None:
        """Asked why, the best statement may only restate the question ("컴퓨터 활용 능력이
        중요합니다" for "왜 컴퓨터 능력이 중요해?"): the reason is the sentence before or after
        it ("업무의 약 25%에는 ... 데이터 입력"). None when the statement gives a reason."""
        if not _ASKS_WHY.search(question) or first.unit.kind != "sentence":
            return None
        if _GIVES_REASON.search(first.unit.text):
            return None
        if self._overlap(self._unit_tokens(first.unit), retrieved.concepts) < RESTATES:
            return None
        units = first.hit.chunk.units
        at = units.index(first.unit)
        beside = [
            (i, units[i])
            for i in (at - 1, at + 1)
            if 0 <= i < len(units)
            and units[i].kind == "sentence"
            and not units[i].text.rstrip().endswith("?")
            and not _SIGNPOST.search(units[i].text)
        ]
        if not beside:
            return None
        chunk = first.hit.chunk

        # A sentence that gives a reason or the fact behind it (a figure: "24시간", "25%") is
        # the reason; failing that, a neighbour close to the question itself; any other
        # neighbour is padding.
        scored = [
            (
                bool(_GIVES_REASON.search(unit.text) or _HAS_FIGURE.search(unit.text)),
                close.get((chunk.id, i), 0.0),
                unit,
            )
            for i, unit in beside
        ]
        gives, nearness, unit = max(scored, key=lambda g: (g[0], g[1]))
        if not gives and nearness < REASON_NEAR:
            return None
        return _Picked(unit, first.hit, first.score, nearness)

    @staticmethod
    def _definition(
        snap: Snapshot,
        chunk: Chunk,
        roles: RoleNames,
        asked: set[str],
        lead: Unit | None,
    ) -> tuple[Unit, Chunk] | None:
        """The first statement of a role's own section on what the role does, when its duties
        list is the answer to what that role does, with the chunk it is in."""
        if not roles.asked or not asked <= {"duties"} or lead is None:
            return None
        if (
            "duties" not in lead.aspects
            or roles.within(chunk.section.split(" > ")[-1]) not in roles.asked
        ):
            return None
        # The section opens with what the role is ("고객 서비스 디렉터는 전략적 기획과 운영에
        # 직접 관여하는..."); failing that, its first statement on duties.
        opening: list[tuple[Unit, Chunk]] = [
            (unit, sibling)
            for sibling in snap.siblings(chunk)
            if sibling.kind == "prose" and sibling.position < chunk.position
            for unit in sibling.units
            if unit.kind == "sentence"
            and not unit.text.rstrip().endswith(("?", ":"))
            and not _SIGNPOST.search(unit.text)
        ]
        if not opening:
            return None
        first = opening[0][0]
        if "duties" in first.aspects or roles.is_subject_of(first.text) or first.roles:
            return opening[0]
        return next((o for o in opening if "duties" in o[0].aspects), None)

    @staticmethod
    def _of_another(picked: _Picked, roles: RoleNames) -> bool:
        """Is the statement about another role than the one asked about?"""
        if not roles.asked:
            return False
        subject = roles.subject(picked.unit, picked.hit.chunk)
        if subject is None or subject in roles.asked:
            return False
        # A section kept once for two roles ("트레이너", "코치") speaks of both.
        chunk = picked.hit.chunk
        heads = [chunk.section.split(" > ")[-1], *chunk.also_under]
        return not any(roles.within(h) in roles.asked for h in heads)

    def _role_hits(
        self, snap: Snapshot, roles: RoleNames, aspects: frozenset[str], retrieved: Retrieved
    ) -> list[Hit]:
        """Asked what one role does, the chunks whose statements have it as their subject,
        wherever the search ranked them ("고객 계정 관리자: ..." is an item of the pay list)."""
        if len(roles.asked) != 1 or not aspects <= {"duties"} or not retrieved.hits:
            return []
        role = next(iter(roles.asked))
        if role == GENERAL_ROLE:
            return []
        have = {h.chunk.id for h in retrieved.hits[:8]}
        fused = retrieved.hits[min(2, len(retrieved.hits) - 1)].fused
        chunks = {
            c.id: c
            for c, u in self._role_units(snap).get(role, [])
            if u.roles[:1] == [role] and c.id not in have
        }
        return [Hit(c, 0.0, 0.0, fused) for c in chunks.values()]

    def _other_description(
        self,
        snap: Snapshot,
        names: RoleNames,
        role: str,
        writer: _Writer,
        quoted: set[str] | None = None,
    ) -> None:
        """What a role does, from every document: the other document's defining statement of
        the role ("팀 리더: 팀 적용 범위를 예약하고...") when the answer quotes only one
        (`quoted`: the documents quoted for the role; by default all the answer quotes)."""
        if role == GENERAL_ROLE:
            return  # the job in general: every document speaks of it everywhere
        quoted = quoted if quoted is not None else {c.source for c in writer.citations}
        for chunk, unit in self._role_units(snap).get(role, []):
            if chunk.source in quoted or unit.kind == "lead" or unit.roles[:1] != [role]:
                continue
            opens = unit.kind == "row" or self._defines(names, chunk, unit, role)
            if opens and unit.text not in writer.quoted_texts():
                writer.statement(unit.text, Hit(chunk, 0.0, 0.0, 0.0))
                return

    def _singles_out_row(self, snap: Snapshot, anchor: Hit, retrieved: Retrieved) -> bool:
        """Does the question ask about one row of a table rather than the table?"""
        rows = [c for c in snap.siblings(anchor.chunk) if c.kind == "row"]
        if len(rows) <= 2:
            return False
        scores = sorted(self._overlap(frozenset(c.tokens), retrieved.concepts) for c in rows)
        others = scores[:-1]
        return scores[-1] > 0 and scores[-1] >= 2 * (sum(others) / len(others))

    def _lists(self, snap: Snapshot) -> list[Chunk]:
        """Every list with a lead-in, once per snapshot: a question must not pass over every
        chunk."""
        lists: list[Chunk] | None = snap.derived.get("lists")
        if lists is None:
            lists = [c for c in snap.chunks if c.kind == "list" and self._lead(c) is not None]
            snap.derived["lists"] = lists
        return lists

    def _counted_list(
        self, snap: Snapshot, retrieved: Retrieved, question: str, asked: frozenset[str]
    ) -> Hit | None:
        """ "The seven skills": the list whose heading or lead-in counts that many ("7가지 콜센터
        기술"), on an aspect asked, wherever the search ranked it."""
        counted = _COUNTED.search(question)
        if counted is None or not asked:
            return None
        n = _count(counted)
        # The documents count in digits or in words ("7가지", "두 가지").
        marks = {f"{n}가지", *(f"{w}가지" for w, k in _COUNT_WORDS.items() if k == n)}
        top = max((h.fused for h in retrieved.hits), default=1.0) or 1.0
        for chunk in self._lists(snap):
            lead = self._lead(chunk)
            if lead is None or not asked & set(lead.aspects):
                continue
            where = "".join(f"{lead.text} {chunk.section.split(' > ')[-1]}".split())
            if any(mark in where for mark in marks):
                return Hit(chunk, 0.0, 0.0, top)
        return None

    def _anchor(
        self,
        snap: Snapshot,
        retrieved: Retrieved,
        roles: RoleNames,
        asked: frozenset[str] = frozenset(),
    ) -> Hit | None:
        """The list or table that best answers a list question, if one is near the top."""
        top = max((h.fused for h in retrieved.hits), default=1.0) or 1.0
        best: tuple[float, Hit] | None = None
        for hit in retrieved.hits[:6]:
            chunk = hit.chunk
            if chunk.kind not in {"list", "row"}:
                continue
            rel = hit.fused / top
            # A list must be about the question, not merely nearby in embedding space.
            content = self._overlap(frozenset(chunk.tokens), retrieved.concepts)
            if rel < 0.45 or (content < 0.3 and rel < 0.9):
                continue
            score = rel + 0.6 * self._structure_bonus(chunk, retrieved.concepts) + content
            lead = self._lead(chunk)
            if asked and lead is not None:
                # The list whose lead-in speaks to what is asked ("방법" lists for "how to
                # promote accountability"), not one that only shares words.
                score += ANCHOR_ASPECT * len(asked & set(lead.aspects)) / len(asked)
            if roles.asked:
                owner = roles.within(chunk.section.split(" > ")[-1])
                if owner is None or owner not in roles.asked:
                    continue  # another role's list, or a list about several roles
                score += 0.5
            if best is None or score > best[0]:
                best = (score, hit)
        if best is None:
            return None
        found = best[1]
        lead = self._lead(found.chunk)
        if asked and lead is not None and not asked & set(lead.aspects):
            # The section's skills list came first, and duties were asked: the same
            # section's list on what was asked is the answer.
            for sibling in snap.siblings(found.chunk):
                other = self._lead(sibling)
                if sibling.kind == "list" and other is not None and asked & set(other.aspects):
                    return Hit(sibling, found.dense, found.lexical, found.fused)
        return found

    def _write_structured(
        self,
        snap: Snapshot,
        reading: Reading,
        retrieved: Retrieved,
        anchor: Hit,
        writer: _Writer,
        roles: RoleNames,
    ) -> None:
        chunk = anchor.chunk
        writer.intro(say("intro_list", reading.language))
        # One sentence of context about the subject, when the section has a fitting one.
        context = [
            _Picked(
                u,
                Hit(c, 0, 0, anchor.fused),
                self._overlap(self._unit_tokens(u), retrieved.concepts),
            )
            for c in snap.siblings(chunk)
            if c.kind == "prose"
            for u in c.units[:2]
            if not u.text.rstrip().endswith("?")
        ]
        context.sort(key=lambda p: p.score, reverse=True)
        asked = set(reading.topics)
        # A sentence of context must speak to what was asked, or it is padding.
        lead_unit = self._lead(chunk)
        # A lead-in that already names what was asked ("...다음과 같은 중요한 기술을") needs no
        # sentence before it; one that shares a word ("기술과 생산성을 향상") is padding.
        # A role's defining sentence states its main duty, so it stays before a duties list.
        introduced = (
            bool(asked)
            and bool(roles.asked)
            and "duties" not in asked
            and lead_unit is not None
            and asked <= set(lead_unit.aspects)
        )
        definition = self._definition(snap, chunk, roles, asked, lead_unit)
        if definition is not None:
            # "What does a resource planning manager do?": the sentence that says what the
            # role is for ("이 직책의 주요 책임은 일정 관리, 계획 수립, 예측..."), then its list.
            writer.statement(definition[0].text, Hit(definition[1], 0, 0, anchor.fused))
        elif (
            context
            and not introduced
            and context[0].score >= 0.5
            and (not asked or asked & set(context[0].unit.aspects))
        ):
            writer.statement(context[0].unit.text, context[0].hit)
        if chunk.kind == "row":
            self._write_rows(snap, retrieved, anchor, writer)
        else:
            lead = next((u.text for u in chunk.units if u.kind == "lead"), "")
            parts = self._list_parts(snap, chunk)
            single = self._named_item(reading.text, parts)
            if single is not None:
                # "관리자가 다른 부서랑 협력하는 예시": the one item headed so, not the list.
                writer.statement(single[0].text, Hit(single[1], 0, 0, anchor.fused))
                writer.hint_section(chunk.section)
                return
            if lead:
                writer.line(lead)
            items = [(u.text, c) for c in parts for u in c.units if u.kind == "item"]
            for text, part in items[:_LIST_ITEMS]:
                writer.bullet(text, Hit(part, 0, 0, anchor.fused))
            # "What are the 7 skills?" names the list it wants: that one, not both documents'.
            counted = _COUNTED.search(reading.text)
            named = counted is not None and f"{_count(counted)}가지" in f"{lead} {chunk.section}"
            for extra in (
                []
                if named
                else self._more_lists(snap, retrieved, anchor, roles, frozenset(reading.topics))
            ):
                self._write_list(extra, writer, _LIST_ITEMS)
        writer.hint_section(chunk.section)

    def _list_parts(self, snap: Snapshot, chunk: Chunk) -> list[Chunk]:
        """A list cut into chunks, all of it: the section's chunks under the same lead-in."""
        lead = self._lead(chunk)
        text = lead.text if lead is not None else ""
        return [
            c
            for c in snap.siblings(chunk)
            if c.kind == "list" and (u := self._lead(c)) is not None and u.text == text
        ] or [chunk]

    @staticmethod
    def _follows(before: _Picked, after: _Picked) -> bool:
        """Is `after` the statement right after `before` in the same chunk?"""
        if before.hit.chunk.id != after.hit.chunk.id:
            return False
        units = before.hit.chunk.units
        return units.index(after.unit) == units.index(before.unit) + 1

    def _named_item(self, question: str, parts: list[Chunk]) -> tuple[Unit, Chunk] | None:
        """The one item of a list whose own heading ("다른 부서와 협력: ...") the question
        names, when no other item's heading comes close."""
        asked = self._tokens(question)
        fits: list[tuple[float, Unit, Chunk]] = []
        for chunk in parts:
            for unit in chunk.units:
                head, colon, _ = unit.text.partition(":")
                if unit.kind != "item" or not colon or len(head) > 40:
                    continue
                words = self._tokens(head)
                fits.append((len(words & asked) / len(words) if words else 0.0, unit, chunk))
        if len(fits) < 2:
            return None
        fits.sort(key=lambda f: f[0], reverse=True)
        if fits[0][0] >= ITEM_NAMED and fits[1][0] < ITEM_NAMED / 2:
            return fits[0][1], fits[0][2]
        if not _EXAMPLE.search(question):
            return None
        # "관리자가 보통 추적하는 지표 예시": asked for an example, the one item whose words
        # the question uses, leaving out the words every item shares ("관리자는 ...").
        texts = [(self._tokens(unit.text), unit, chunk) for _, unit, chunk in fits]
        common = {w for w in asked if sum(w in t for t, _, _ in texts) * 2 > len(texts)}
        specific = asked - common
        scored = sorted(
            ((len(t & specific), unit, chunk) for t, unit, chunk in texts),
            key=lambda f: f[0],
            reverse=True,
        )
        best, second = scored[0][0], scored[1][0]
        if best >= 1 and (second == 0 or best >= 2 * second):
            return scored[0][1], scored[0][2]
        return None

    @staticmethod
    def _lead(chunk: Chunk) -> Unit | None:
        return next((u for u in chunk.units if u.kind == "lead"), None)

    def _write_list(self, chunk: Chunk, writer: _Writer, limit: int) -> None:
        """A list under its own lead-in, cited to its chunk."""
        lead = self._lead(chunk)
        if lead is not None:
            writer.line(lead.text)
        for unit in [u for u in chunk.units if u.kind == "item"][:limit]:
            writer.bullet(unit.text, Hit(chunk, 0, 0, 0.0))

    def _more_lists(
        self,
        snap: Snapshot,
        retrieved: Retrieved,
        anchor: Hit,
        roles: RoleNames,
        asked: frozenset[str],
    ) -> list[Chunk]:
        """Lists that answer the rest of the question: the same role's list for another aspect
        it asks ("duties and skills"), and another document's list on the same aspect ("what
        skills does an agent need" has one list in each document)."""
        lead = self._lead(anchor.chunk)
        if lead is None:
            return []
        done = set(lead.aspects) & asked
        out: list[Chunk] = []
        # The same section's list for each other aspect asked.
        for chunk in snap.siblings(anchor.chunk):
            other = self._lead(chunk)
            if chunk.kind != "list" or other is None or chunk.id == anchor.chunk.id:
                continue
            new = (set(other.aspects) & asked & ROLE_ATTRIBUTES) - done
            if new and not (set(other.aspects) & done):
                out.append(chunk)
                done |= new
        # Another document's list on the aspect answered, when no other role is asked.
        if not done or not roles.asked <= {GENERAL_ROLE}:
            return out
        # The role is the job in general here: judge the lead-in on the rest of the question.
        concepts = [c for c in retrieved.concepts if c.named and not self._is_role_concept(snap, c)]
        top = max((h.fused for h in retrieved.hits), default=1.0) or 1.0
        fused = {h.chunk.id: h.fused / top for h in retrieved.hits}
        lists = self._lists(snap)
        best: tuple[float, Chunk] | None = None
        for chunk in lists:
            other = self._lead(chunk)
            if chunk.source == anchor.chunk.source or other is None:
                continue
            if not set(other.aspects) & done or not set(other.roles) <= {GENERAL_ROLE}:
                continue
            # The lead-in itself must name the aspect ("7가지 콜센터 기술"), not only the
            # heading above it ("타자 능력" > "다음과 같은 경험이 있으면 이점이 있습니다").
            fit = self._overlap(self._tokens(other.text), concepts)
            rank = fit + 0.5 * fused.get(chunk.id, 0.0)
            if fit < SECOND_LIST_FIT or (best is not None and rank <= best[0]):
                continue
            # Judged last, as it analyses the lead-in: "역할을 수행하기 위한 7가지 기술" is a
            # skills list, not duties.
            if not self._head_aspects(snap, other.text) - asked:
                best = (rank, chunk)
        if best is not None:
            out.append(best[1])
        return out

    def _head_aspects(self, snap: Snapshot, text: str) -> set[str]:
        """The role attributes a lead-in's closing words name: what its list is a list of
        (Korean puts the head noun last: "...위한 7가지 콜센터 기술")."""
        tail = " ".join(text.rstrip(" .:：").split()[-2:])
        return {
            t.name
            for t in snap.glossary.matches(tail, self.tok.forms, documents=True)
            if t.name in ROLE_ATTRIBUTES
        }

    def _is_role_concept(self, snap: Snapshot, concept: Concept) -> bool:
        """Is the concept a role's name ("상담원")?"""
        phrases = snap.derived.get("role_phrases")
        if phrases is None:
            phrases = frozenset(
                frozenset(self.tok.tokens(k))
                for t in snap.glossary.terms
                if t.kind == "role"
                for k in t.ko
            )
            snap.derived["role_phrases"] = phrases
        return any(p in phrases for p in concept.phrases)

    def _defines(self, names: RoleNames, chunk: Chunk, unit: Unit, role: str) -> bool:
        """Does the statement open with the role as its subject, or with the role its shared
        section describes under another name ("트레이너는 ..." for the coach)?"""
        # The subject may come after a phrase about it ("팀 리더라고도 불리는 팀 리더는 ...").
        head = unit.text[:40]
        subjects = {
            r for name, r in names.names if re.search(rf"{re.escape(name)}(?:은|는)\s", head)
        }
        if role in subjects:
            return True
        shared = self._section_roles(names, chunk)
        return role in shared and bool(subjects & shared)

    @staticmethod
    def _section_roles(names: RoleNames, chunk: Chunk) -> set[str]:
        """The roles a chunk's section is named after (its heading and any it absorbed)."""
        headings = [chunk.section.split(" > ")[-1], *chunk.also_under]
        return {r for r in (names.within(h) for h in headings) if r}

    def _role_units(self, snap: Snapshot) -> dict[str, list[tuple[Chunk, Unit]]]:
        """Every statement whose labelled subject is a role, by role (once per snapshot)."""
        by_role = snap.derived.get("role_units")
        if by_role is None:
            by_role = {}
            names = RoleNames.build(snap, [])
            for chunk in snap.chunks:
                # A section kept once for two headings ("트레이너", "코치") describes both.
                twins = {names.within(h) for h in chunk.also_under} - {None}
                for unit in chunk.units:
                    for role in {*unit.roles, *(r for r in twins if r)}:
                        by_role.setdefault(role, []).append((chunk, unit))
            snap.derived["role_units"] = by_role
        return by_role

    def _write_per_role(
        self,
        snap: Snapshot,
        reading: Reading,
        retrieved: Retrieved,
        writer: _Writer,
        aspects: frozenset[str],
    ) -> None:
        """Each role the question compares, under its name: its list for the aspect asked, or
        its best statement; a role the documents don't describe is said to be so."""
        writer.intro(say("intro_list", reading.language))
        units = self._role_units(snap)
        names = RoleNames.build(snap, [])
        said: dict[str, str] = {}  # statement -> the role it was quoted for
        for role in reading.roles[:3]:
            term = snap.glossary.term(role)
            entry = snap.roles.get(role)
            if reading.language == "ko":
                name = term.ko[0] if term is not None else role
            else:
                name = entry.en if entry is not None else role.capitalize()
            mine = units.get(role, [])
            listed = next(
                (
                    c
                    for c, u in mine
                    if u.kind == "lead" and c.kind == "list" and aspects & set(u.aspects)
                ),
                None,
            )
            writer.heading(name)
            if listed is not None:
                self._write_list(listed, writer, _ROLE_ITEMS)
                if aspects <= {"duties"}:
                    self._other_description(snap, names, role, writer, {listed.source})
                continue
            # Without an aspect, the role's definition: its section opens with it, and a
            # role without a section of its own is an item of a list ("CCO: ...").
            # "What's the difference?" asks what each does: its statements on its duties.
            judged = aspects or frozenset({"duties"})
            scored = [
                (
                    (ASPECT_FIT if judged & set(u.aspects) else 0.0)
                    + (self._overlap(self._unit_tokens(u), retrieved.concepts) if aspects else 0.0)
                    + (OWN_SECTION if role in self._section_roles(names, c) else 0.0)
                    + (SUBJECT_FIT if self._defines(names, c, u, role) else 0.0)
                    - 0.01 * (c.position + c.units.index(u) / 100),
                    c,
                    u,
                )
                for c, u in mine
                if u.kind in {"sentence", "item", "cell", "row"}
                and not u.text.rstrip().endswith("?")
                and not (u.kind == "cell" and names.within(u.text) and len(u.text) < 25)
            ]
            if not scored:
                writer.line(say("role_not_described", reading.language, role=name))
                continue
            scored.sort(key=lambda s: s[0], reverse=True)
            _, chunk, unit = scored[0]
            if unit.text in said:
                writer.line(say("same_as", reading.language, other=said[unit.text]))
                continue
            said[unit.text] = name
            writer.statement(unit.text, Hit(chunk, 0, 0, 0.0))
            # Without an aspect, the definition's next sentence in the role's own section
            # completes it ("각 콜센터에는 리더가 있습니다. 이 직책에 있는 사람은 ...").
            nxt = next((x for x in scored[1:2] if x[1].id == chunk.id and not aspects), None)
            if nxt is not None and nxt[2].text not in said:
                said[nxt[2].text] = name
                writer.statement(nxt[2].text, Hit(nxt[1], 0, 0, 0.0))
            if aspects <= {"duties"}:
                # What the role does, from every document: the other one's row or definition.
                self._other_description(snap, names, role, writer, {chunk.source})

    def _write_rows(
        self, snap: Snapshot, retrieved: Retrieved, anchor: Hit, writer: _Writer
    ) -> None:
        rows = [c for c in snap.siblings(anchor.chunk) if c.kind == "row"]
        if not all(u.kind == "cell" for c in rows for u in c.units):
            for row in rows:
                writer.bullet(row.units[0].text, Hit(row, 0, 0, anchor.fused))
            return
        columns: dict[str, list[tuple[str, Chunk]]] = {}
        for row in rows:
            for unit in row.units:
                columns.setdefault(unit.label, []).append((unit.text, row))
        # "좋은 점만": when the question names one column and not the others, show that one.
        fit = {label: self._overlap(self._tokens(label), retrieved.concepts) for label in columns}
        best = max(fit.values(), default=0.0)
        chosen = [label for label in columns if fit[label] == best] if best > 0 else list(columns)
        for label in chosen:
            writer.heading(label)
            for text, row in columns[label]:
                writer.bullet(text, Hit(row, 0, 0, anchor.fused))

    def _write_bullets(
        self,
        retrieved: Retrieved,
        hits: list[Hit],
        writer: _Writer,
        question: str,
        roles: RoleNames,
        aspects: frozenset[str],
        close: dict[tuple[str, int], float],
    ) -> None:
        picked = self._candidates(retrieved, hits, question, roles, aspects, close, writer.general)
        if not picked:
            return
        writer.intro(say("intro_list", writer.language))
        best = picked[0].score
        if _ASKS_HOW.search(question):
            advice = [p for p in picked[:6] if _ADVICE.search(p.unit.text)]
            if len(advice) >= 2:  # "how do I ...?": the advice, not what the trouble is
                picked = advice
        for p in picked[:6]:
            if p.score < best * 0.55:
                break
            writer.bullet(p.unit.text, p.hit)
        writer.hint_section(picked[0].hit.chunk.section)

    def _write_fact(
        self,
        snap: Snapshot,
        retrieved: Retrieved,
        writer: _Writer,
        question: str,
        roles: RoleNames,
        aspects: frozenset[str],
        close: dict[tuple[str, int], float],
        parts: list[str],
        avoid: str = "",
        extra: list[Hit] | None = None,
    ) -> None:
        # Wider than a list's candidates: a role's one-line description can sit in a
        # long list further down ("고객 계정 관리자: ...").
        picked = self._candidates(
            retrieved,
            [*retrieved.hits[:8], *(extra or [])],
            question,
            roles,
            aspects,
            close,
            writer.general,
            avoid,
            leads=not asks_one(question),  # a reason or a person is not a list
        )
        if not picked:
            return
        first = picked[0]
        writer.top_score = first.score
        units = first.hit.chunk.units
        items = [u for u in units if u.kind == "item"]
        one = asks_one(question)
        if first.unit.kind == "lead" or (
            first.unit.kind == "item"
            and items
            and not one
            and sum(len(u.text) for u in items) / len(items) < 40
        ):
            # One word of a short list ("주말") answers best as the list it belongs to.
            writer.intro(say("intro_list", writer.language))
            lead_unit = self._lead(first.hit.chunk)
            definition = self._definition(snap, first.hit.chunk, roles, set(aspects), lead_unit)
            if definition is not None:
                writer.statement(definition[0].text, Hit(definition[1], 0, 0, first.hit.fused))
            lead = next((u.text for u in units if u.kind == "lead"), "")
            if lead:
                writer.line(lead)
            for unit in items[:_LIST_ITEMS]:
                writer.bullet(unit.text, first.hit)
            writer.hint_section(first.hit.chunk.section)
            return
        writer.intro(say("intro_fact", writer.language))
        at = units.index(first.unit)
        owner = roles.within(first.hit.chunk.section.split(" > ")[-1])
        if one and first.unit.kind == "item" and owner is not None:
            # "Who suggests shift patterns?": the role whose list holds the item.
            writer.heading(first.hit.chunk.section.split(" > ")[-1])
        lead_in = self._lead(first.hit.chunk)
        # Pay asked of a role the list of well-paid jobs holds: that list says so.
        related = aspects | (
            {"highest paid", "pay"} if aspects & {"pay", "highest paid"} else set()
        )
        if first.unit.kind == "item" and lead_in is not None and related & set(lead_in.aspects):
            # "Is tech support well paid?": the item, under the lead-in that says why it is
            # listed ("고소득 콜센터 일자리의 예는 다음과 같습니다.").
            writer.line(lead_in.text)
        asked_before = list(itertools.takewhile(_is_question, reversed(units[:at])))[::-1]
        if _CONTINUES.match(first.unit.text) and at > 0 and not _OWN_SUBJECT.match(first.unit.text):
            # "특히 화가 난 발신자..." means nothing without the sentence it continues.
            writer.statement(units[at - 1].text, first.hit)
        elif (
            asked_before
            and len(first.unit.text) <= _LEANS_CHARS
            and not asked_before[0].text.startswith(("귀하", "당신"))
        ):
            # "당신은 이미 자격을 갖추고 있습니다!" answers the page's own questions before it
            # ("고객을 상대해 본 적이 있나요? ..."): without them it says nothing.
            start = at - len(asked_before)
            # ...and the statement the questions follow ("많은 업무 경험이 필요하지 않기
            # 때문에 ..."), which they spell out.
            lead_on = [units[start - 1]] if start > 0 and units[start - 1].kind != "lead" else []
            for unit in [*lead_on, *asked_before]:
                writer.statement(unit.text, first.hit)
        elif at + 1 < len(units) and (
            _ELABORATES.match(units[at + 1].text) or _YES_NO.match(first.unit.text)
        ):
            # The statement and the sentences that spell it out ("즉, ...", "이것은 ... 25%");
            # an FAQ's "네, ..." with the "그러나 ..." that qualifies it.
            writer.statement(first.unit.text, first.hit)
            yes_no = bool(_YES_NO.match(first.unit.text))
            for unit in units[at + 1 : at + 1 + _ELABORATION]:
                if not (yes_no or _ELABORATES.match(unit.text)):
                    break
                writer.statement(unit.text, first.hit)
            writer.hint_section(first.hit.chunk.section)
            return
        chosen = [picked[0]]
        # Asked for a figure and the best statement gives one: a companion without a figure
        # is padding ("상당한 돈을 벌 수 있습니다" beside the hourly figure).
        figure_only = asks_quantity(question) and bool(_HAS_FIGURE.search(first.unit.text))
        for p in picked[1:]:
            if len(chosen) >= _FACT_UNITS or p.score < picked[0].score * COMPANION_SHARE:
                break
            if p.unit.kind == "lead":
                continue  # a lead-in without its list points at nothing
            if figure_only and not _HAS_FIGURE.search(p.unit.text):
                continue
            # The sentence defining the role asked about ("트레이너는 ...") always belongs.
            defines = len(roles.asked) == 1 and any(
                self._defines(roles, p.hit.chunk, p.unit, r) for r in roles.asked
            )
            if close and p.nearness < COMPANION_FIT and not defines:
                continue
            if self._of_another(p, roles):
                continue  # what another role does is not a companion ("고객 서비스 담당자: ...")
            # A sentence leaning on one before it ("그들은 ...") is not a companion: alone, it
            # has lost its subject.
            if (
                _CONTINUES.match(p.unit.text)
                and not _OWN_SUBJECT.match(p.unit.text)
                and not any(self._follows(c, p) for c in chosen)
            ):
                continue
            if p.unit.text != chosen[0].unit.text:
                chosen.append(p)
        # Asked for a figure and one chosen statement gives it: the others are padding,
        # whichever scored first ("컴퓨터 활용 능력이 중요합니다" beside "분당 약 60단어").
        kinds = _figure_kinds(question)
        if asks_quantity(question) or kinds:
            giving = [
                c
                for c in chosen
                if _HAS_FIGURE.search(c.unit.text)
                and (not kinds or any(g.search(c.unit.text) for g in kinds))
            ]
            if giving:
                chosen = giving
        # A question in parts ("무슨 일을 하고 누구한테 보고해?"): each part it names gets
        # its best statement, unless one already chosen speaks to it.
        for aspect in parts:
            if len(chosen) >= _PART_UNITS or any(aspect in c.unit.aspects for c in chosen):
                continue
            best = next(
                (
                    p
                    for p in picked
                    if aspect in p.unit.aspects
                    and p.score >= picked[0].score * PART_FLOOR
                    and not self._of_another(p, roles)
                ),
                None,
            )
            if best is not None and all(best.unit.text != c.unit.text for c in chosen):
                chosen.append(best)

        reason = self._reason_beside(first, question, retrieved, close)
        if reason is not None and all(reason.unit.text != c.unit.text for c in chosen):
            chosen.append(reason)
        # Keep document order within a chunk so two sentences read naturally.
        chosen.sort(
            key=lambda p: (
                p.hit.chunk.source,
                p.hit.chunk.position,
                p.hit.chunk.units.index(p.unit),
            )
        )
        for p in chosen:
            writer.statement(p.unit.text, p.hit)
        writer.hint_section(picked[0].hit.chunk.section)


class _Writer:
    """Lays out statements with citation markers inside the character budget."""

    def __init__(self, language: str, max_chars: int, *, general: bool = False) -> None:
        self.language = language
        #: The question hinged on something the documents don't cover: what is quoted is
        #: what they say in general, and the opening line says so.
        self.general = general
        self.max_chars = max_chars
        self.lines: list[str] = []
        self.citations: list[Citation] = []
        self._markers: dict[str, int] = {}
        self._quoted: dict[str, list[str]] = {}
        self._seen: set[str] = set()
        self._hint = ""
        self.missing = ""
        self.figures: list[str] = []  # the quoted statements that hold a number
        self.top_score = 0.0  # a fact answer's best statement's score

    def _size(self) -> int:
        return sum(len(line) + 1 for line in self.lines)

    def _marker(self, hit: Hit, text: str) -> int:
        chunk = hit.chunk
        if chunk.id not in self._markers:
            self._markers[chunk.id] = len(self._markers) + 1
            self._quoted[chunk.id] = []
            self.citations.append(
                Citation(
                    marker=self._markers[chunk.id],
                    source=chunk.source,
                    title=chunk.title,
                    section=chunk.section,
                    text="",
                    score=round(float(hit.fused), 4),
                    chunk_id=chunk.id,
                    published=chunk.published,
                )
            )
        self._quoted[chunk.id].append(text)
        return self._markers[chunk.id]

    def _dated(self, text: str, chunk: Chunk) -> str:
        if not _AGING.search(text):
            return ""
        if chunk.published:
            return " " + say("as_of", self.language, date=chunk.published[:7])
        return " " + say("undated", self.language)

    def _fits(self, addition: str) -> bool:
        return self._size() + len(addition) + 1 <= self.max_chars

    def intro(self, text: str) -> None:
        self.lines.append(say("intro_general", self.language) if self.general else text)

    def heading(self, text: str) -> None:
        if self._fits(text):
            self.lines.append(f"{text}:")

    def line(self, text: str) -> None:
        # Two lead-ins in a row ("주요 책임의 일부는 다음과 같습니다: 주요 업무는 다음과
        # 같습니다:") read as one: the one nearest the list.
        clauses = [c for c in re.split(r"(?<=[:：])\s+", text) if c]
        if len(clauses) > 1 and all(_FORWARD.search(c) for c in clauses):
            text = clauses[-1]
        if self._fits(text):
            self.lines.append(text)

    def statement(self, text: str, hit: Hit) -> None:
        self._quote(text, hit, prefix="", limit=_ITEM_CHARS * 2)

    def bullet(self, text: str, hit: Hit) -> None:
        self._quote(text, hit, prefix="• ", limit=_ITEM_CHARS)

    def _quote(self, text: str, hit: Hit, *, prefix: str, limit: int) -> None:
        """Add a quoted statement once, with its source marker and date note, if it fits."""
        key = re.sub(r"\W+", "", text)
        if key in self._seen:
            return
        body = _first_sentence(text, limit)
        dated = self._dated(body, hit.chunk)
        if not self._fits(f"{prefix}{body} [9]{dated}"):
            return
        self._seen.add(key)
        if _HAS_FIGURE.search(body):
            self.figures.append(body)
        self.lines.append(f"{prefix}{body} [{self._marker(hit, body)}]{dated}")

    def hint_section(self, section: str) -> None:
        if section:
            self._hint = section.split(" > ")[-1]

    def quoted(self) -> list[str]:
        """Every statement quoted so far."""
        return [t for texts in self._quoted.values() for t in texts]

    def quoted_texts(self) -> str:
        """Everything quoted so far, to tell whether a statement is already in."""
        return " ".join(self.quoted())

    def finish(self) -> Composition:
        for citation in self.citations:
            quoted = " … ".join(self._quoted[citation.chunk_id])
            citation.text = _first_sentence(quoted, 300)
        return Composition(
            text=_laid_out(self.lines, self._hint, self.language),
            citations=self.citations,
            focus_section=self._hint,
            missing=self.missing,
            intro=self.lines[0] if self.lines else "",
            body=self.lines[1:],
        )
