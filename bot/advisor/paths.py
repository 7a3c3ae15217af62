"""Career-path answers from the role catalogue, and the ladder picture that goes with them.

"상담원에서 매니저가 되려면?", "What comes after team leader?", "Which roles pay most?" and
"What skills do I need to move up from team leader?" are answered from `knowledge/roles.yaml`
(published with the index), step by step, every statement cited to its document section.
"""

from __future__ import annotations

import importlib.util
import io
import itertools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bot.advisor.analysis import Language, asks_pick
from bot.advisor.knowledge import Snapshot
from bot.advisor.messages import say
from bot.advisor.models import Answer, Citation
from core.roles import Catalogue, Item, Role, Source

logger = logging.getLogger(__name__)

Kind = Literal["path", "next", "skills", "pay", "unknown", "ladder"]

#: Glossary roles the catalogue files under another role (the documents' own equivalences).
ALIASES = {
    "outbound agent": "agent",
    "customer service representative": "agent",
    "manager": "call center manager",
}

_PAY_EN = re.compile(
    r"\b(?:(?:which|what)\s+(?:roles?|jobs?|positions?)\s+(?:\w+\s+){0,3}pays?\s+(?:the\s+)?"
    r"(?:most|best|highest)|(?:highest|best|top)[- ]pa(?:id|ying)\s+(?:[\w-]+\s+){0,2}(?:roles?|jobs?|positions?)|"
    r"earn\s+the\s+most)\b",
    re.I,
)
_PAY_KO = re.compile(
    r"(?:연봉|급여|임금|돈)\S*\s*(?:\S+\s+)?(?:가장|제일|젤|최고로)\s*(?:많이|높)"
    r"|(?:연봉|돈)\S{0,2}\s*(?:많이|젤|제일)\s*(?:버는|받는|주는)\s*(?:직책|자리|직업|포지션|직급)"
)
_WHY = re.compile(r"\bwhy\b|왜|이유|따라|depend", re.I)
_NEXT_EN = re.compile(
    r"\b(?:comes?\s+after|next\s+(?:step|role|level|position)|after\s+being|above|higher\s+than"
    r"|one\s+level\s+up)\b",
    re.I,
)
_NEXT_KO = re.compile(r"다음\s*(?:단계|직책|역할|자리|은|에는|엔|으로|에|은요|는)?|그\s*위")
_UP_EN = re.compile(
    r"\b(?:move\s+up|moving\s+up|get\s+promoted|promotion|step\s+up|advance)\b", re.I
)
_UP_KO = re.compile(r"올라가|올라갈|올라간|승진|윗\s*단계|상위\s*직")
#: "How high can I climb?", "어디까지 올라갈 수 있어?": the whole ladder, up to its top.
_TOP = re.compile(
    r"\bhow\s+(?:high|far)\s+(?:can|could|will|do|does|might)\b|\bvery\s+top\b"
    r"|\btop\s+of\s+the\s+ladder\b|어디까지\s*(올라|승진|갈)",
    re.I,
)
#: "승진하려면 뭐가 필요해?", "how do I get promoted?" with no role named: from the first rung.
_PROMOTE_HOW = re.compile(
    r"승진\s*(하려면|하는\s*방법|조건|에\s*필요|할\s*수\s*있는\s*방법)"
    r"|\bhow\s+(?:do|can|could)\s+i\s+(?:get\s+promoted|move\s+up)"
    r"|\bwhat\s+does\s+it\s+take\s+to\s+(?:get\s+promoted|move\s+up)",
    re.I,
)
_SKILL = re.compile(r"\bskills?\b|\babilit|기술|능력|역량|스킬", re.I)
_BECOME_EN = re.compile(r"\b(?:become|get\s+to|get\s+from|reach|how\s+do\s+i\s+go)\b", re.I)
_BECOME_KO = re.compile(r"되려면|되고\s*싶|되는\s*방법|될\s*수|가려면|까지\s*가")
_FROM_TO_EN = re.compile(
    r"\bfrom\s+(?:an?\s+|the\s+)?(?P<a>[\w .'-]+?)\s+to\s+(?:an?\s+|the\s+)?(?P<b>[\w .'-]+?)\s*[?.!]*$",
    re.I,
)
_FROM_TO_KO = re.compile(
    r"(?P<a>[\w ]+?)(?:에서|으로부터|부터)\s+(?P<b>[\w ]+?)(?:이|가|으로|로|까지)\s*"
    r"(?:되려면|되고|가려면|올라가|승진|가는|될)"
)
#: "List the roles in a call-center hierarchy", "콜센터 직급 체계는 어떻게 돼?": the ladder itself.
_LADDER_EN = re.compile(
    r"\b(roles|positions|jobs|titles|ranks|levels)\b.*\b(hierarchy|ladder|org(anization|anisation)? chart)\b"
    r"|\b(hierarchy|ladder)\b.*\b(roles|positions|jobs|titles|levels)\b"
    # Every position there is: the catalogue's whole list, not one section's.
    r"|\b(list|name)\s+(all|every)\b.{0,30}\b(roles|positions|jobs|titles)\b"
    r"|\ball\s+(the\s+)?(call[- ]cent(er|re)\s+)?(roles|positions|job titles)\b"
    r"|\b(types|kinds)\s+of\s+(call[- ]cent(er|re)\s+)?(roles|positions|jobs)\b",
    re.I,
)
_LADDER_KO = re.compile(
    r"(직무|직책|직위|직급)\s*(들\s*)?(은|이)?\s*(뭐뭐|어떤\s*게|무엇무엇|종류)"
    r"|(어떤|무슨)\s*(직무|직책|직위|직급)들(이|은)?\s*(있|뭐)"
    r"|(직무|직책|직위)\s*(전부|다|모두)\s*(알려|말해)"
    r"|(직급|직책|직위)\s*(체계|순서|사다리)"
    r"|(계층|사다리|조직도)[^?.]{0,15}(직책|직급|직위|자리)들?\s*(은|는|이|가|을|를)?\s*(뭐|무엇|어떻|알려|있)"
)
#: "from the top down", "위에서부터 순서대로": the ladder read from its top.
_TOP_DOWN = re.compile(
    r"\btop[- ]down\b|\bfrom the top\b|\bhighest to lowest\b|\btop to bottom\b"
    r"|위에서\s*(부터|아래)|높은\s*(순|순서|직급부터)|윗\s*사람부터|최고\s*직급부터",
    re.I,
)
_PAY_WORD = re.compile(r"연봉|급여|월급|시급|임금|\bpay|\bsalar|\bwage|\bearn", re.I)
_HIERARCHY = re.compile(r"hierarch|\branks?\b|\bladder\b|계층|직급|직책|서열|사다리|조직", re.I)
_AFTER_EN = re.compile(r"\bcomes?\s+after\s+(?:an?\s+|the\s+)?(?P<a>[\w .'-]+?)\s*[?.!]*$", re.I)

MESSAGES: dict[str, dict[str, str]] = {
    "path_intro": {
        "ko": "{a}에서 {b}까지 가는 길은 {n}단계입니다.",
        "en": "The path from {a} to {b}, step by step ({n}):",
    },
    "same": {"ko": "{a}은(는) 이미 그 직책입니다.", "en": "{a} is already that role."},
    "step": {"ko": "{i}. {a} → {b} {m}", "en": "{i}. {a} → {b} {m}"},
    "skills": {"ko": "   • 키울 기술: {items}", "en": "   • Skills to build: {items}"},
    "duties": {"ko": "   • 맡게 될 일: {items}", "en": "   • What you will do: {items}"},
    "no_skills": {
        "ko": "   • 문서에 이 직책의 필수 기술 목록은 없습니다.",
        "en": "   • The documents list no required skills for this role.",
    },
    "next_intro": {"ko": "{a} 다음 단계:", "en": "After {a}:"},
    "next_main": {"ko": "• 사다리 위: {b} {m}", "en": "• Up the ladder: {b} {m}"},
    "next_side": {"ko": "• 다른 길: {b} {m}", "en": "• Another track: {b} {m}"},
    "top": {
        "ko": "{a}은(는) 문서에 나오는 가장 높은 직책입니다. {m}",
        "en": "{a} is the highest position the documents describe. {m}",
    },
    "skills_intro": {
        "ko": "{a}에서 한 단계 올라가려면:",
        "en": "To move up from {a}:",
    },
    "ladder_intro": {
        "ko": "문서에 나오는 콜센터의 직급 사다리는 아래에서 위로 다음과 같습니다.",
        "en": "The call-center ladder the documents describe, from the bottom up:",
    },
    "ladder_intro_top": {
        "ko": "문서에 나오는 콜센터의 직급 사다리는 위에서 아래로 다음과 같습니다.",
        "en": "The call-center ladder the documents describe, from the top down:",
    },
    "ladder_side": {"ko": "옆길: {items}", "en": "Side tracks: {items}"},
    "pay_intro": {
        "ko": "문서에 따르면 콜센터에서 가장 높은 연봉을 받는 직책은 순서대로 다음과 같습니다.",
        "en": "According to the documents, the highest-paid call-center positions are, in order:",
    },
    "pay_place": {
        "ko": "문서에 따르면 콜센터에서 연봉이 {n}번째로 높은 직책은 {role}입니다. {m}",
        "en": "According to the documents, the number {n} highest-paid call-center position is {role}. {m}",
    },
    "pay_specialists": {
        "ko": "리더십 직책 외에 보수가 좋은 전문직: {items}",
        "en": "Well-paid specialist roles besides leadership: {items}",
    },
    "pay_entry": {"ko": "참고: {text} {m}", "en": "Note: {text} {m}"},
    "no_path": {
        "ko": "문서의 직책 구조에는 {a}에서 {b}(으)로 올라가는 경로가 없습니다. {m}\n{a}에서 갈 수 있는 다음 직책: {next}",
        "en": "The documents' role structure has no way up from {a} to {b}. {m}\nFrom {a} you can move to: {next}",
    },
    "none": {"ko": "(없음)", "en": "(none)"},
    "unknown": {
        "ko": "죄송해요, '{name}'은(는) 제가 아는 콜센터 직책이 아니에요. 제가 아는 직책은 다음과 같아요: {roles}",
        "en": "Sorry, I don't know the role '{name}'. The call-center roles I know are: {roles}",
    },
}


def _say(key: str, lang: str, **values: object) -> str:
    return say(key, lang, table=MESSAGES, **values)


@dataclass
class PathQuestion:
    """What a career-path question asks: its kind and the catalogue roles it names."""

    kind: Kind
    roles: list[str] = field(default_factory=list)
    #: The place asked for in a ranking ("#4 highest paying": 4); 0 for the whole ranking.
    place: int = 0
    unknown: str = ""
    #: The ladder asked for from its top ("hierarchy from the top down", "위에서부터").
    top_down: bool = False


def resolve_roles(
    text: str, snap: Snapshot, forms: Callable[[str], list[str]] | None = None
) -> list[str]:
    """Catalogue role ids the text names, in order (English or Korean, glossary names too)."""
    cat = snap.roles
    found: list[str] = []
    for term in snap.glossary.matches(text, forms):
        if term.kind != "role":
            continue
        role_id = term.name if cat.get(term.name) else ALIASES.get(term.name, "")
        if role_id and cat.get(role_id) and role_id not in found:
            found.append(role_id)
    if not found:  # a catalogue without a glossary entry: its own names
        low = text.lower()
        hits = []
        for role in cat.roles:
            for name in (role.ko, role.en.lower(), role.id):
                at = low.find(name.lower())
                if at >= 0:
                    hits.append((at, role.id))
                    break
        found = [rid for _, rid in sorted(hits)]
    return found


def read_path_question(
    text: str, snap: Snapshot, forms: Callable[[str], list[str]] | None = None
) -> PathQuestion | None:
    """The career-path question `text` asks, or None when it is not one."""
    if not snap.roles.roles:
        return None
    roles = resolve_roles(text, snap, forms)
    # "연봉 젤 높은 직책 순서대로" asks for the pay ranking, not the ladder's order.
    if (_PAY_EN.search(text) or _PAY_KO.search(text)) and not _WHY.search(text):
        return PathQuestion("pay", roles, place=asks_pick(text) or 0)
    top_down = bool(_TOP_DOWN.search(text))
    ladder = (
        _LADDER_EN.search(text)
        or _LADDER_KO.search(text)
        or _TOP.search(text)
        or (top_down and _HIERARCHY.search(text) and not _PAY_WORD.search(text))
    )
    if ladder and len(roles) < 2:
        return PathQuestion("ladder", roles, top_down=top_down)
    if _WHY.search(text):
        return None
    for pattern in (_FROM_TO_EN, _FROM_TO_KO):
        m = pattern.search(text)
        if m:
            a = resolve_roles(m["a"], snap, forms)
            b = resolve_roles(m["b"], snap, forms)
            if a and b:
                return PathQuestion("path", [a[0], b[0]])
            return PathQuestion("unknown", roles, unknown=(m["b"] if a else m["a"]).strip())
    m = _AFTER_EN.search(text)
    if m and not resolve_roles(m["a"], snap, forms):
        return PathQuestion("unknown", [], unknown=m["a"].strip())
    if not roles and _PROMOTE_HOW.search(text):
        roles = [r.id for r in snap.roles.ladder()[:1]]
    if not roles:
        return None
    up = bool(_UP_EN.search(text) or _UP_KO.search(text))
    if _SKILL.search(text) and up:
        return PathQuestion("skills", roles[:1])
    if _NEXT_EN.search(text) or (_NEXT_KO.search(text) and len(roles) == 1) or up:
        return PathQuestion("next", roles[:1])
    if _BECOME_EN.search(text) or _BECOME_KO.search(text):
        if len(roles) >= 2:
            return PathQuestion("path", roles[:2])
        if roles[0] == "agent":
            # "How do I become an agent?" is the entry point, not a path: the documents
            # answer it (hiring, skills) better than a one-step ladder.
            return None
        return PathQuestion("path", ["agent", roles[0]])
    return None


class _Cites:
    """Numbers document sections in order of first use and builds their `Citation`s."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self.citations: list[Citation] = []
        self._by_source: dict[str, int] = {}

    def mark(self, source: Source, quote: str = "") -> str:
        key = str(source)
        if key not in self._by_source:
            n = len(self.citations) + 1
            self._by_source[key] = n
            self.citations.append(self._citation(n, source, quote))
        return f"[{self._by_source[key]}]"

    def _citation(self, n: int, source: Source, quote: str) -> Citation:
        chunks = self.snap.of_source(source.doc)
        # A section kept once under another heading (코치 under 트레이너) lists it in also_under.
        in_section = [
            c
            for c in chunks
            if source.section
            in (c.section.split(" > ")[-1], *(a.split(" > ")[-1] for a in c.also_under))
        ]
        quoted = [c for c in chunks if quote and quote in c.text]
        chunk = next(iter([c for c in in_section if c in quoted] + in_section + quoted), None)
        if chunk is None:
            return Citation(
                marker=n,
                source=source.doc,
                title=source.doc,
                section=source.section,
                text=quote,
                score=1.0,
                chunk_id="",
            )
        at = chunk.text.find(quote) if quote else -1
        snippet = chunk.text[max(0, at - 80) : at + 220] if at >= 0 else chunk.text[:300]
        return Citation(
            marker=n,
            source=chunk.source,
            title=chunk.title,
            section=source.section,
            text=snippet.strip(),
            score=1.0,
            chunk_id=chunk.id,
            published=chunk.published,
        )


def _items(items: list[Item], lang: str, cites: _Cites) -> str:
    """ "a, b [1]; c [2]": items grouped by the section they come from."""
    groups: dict[str, list[Item]] = {}
    for item in items:
        groups.setdefault(str(item.source), []).append(item)
    parts = []
    for group in groups.values():
        mark = cites.mark(group[0].source, group[0].ko)
        parts.append(", ".join(i.text(lang) for i in group) + f" {mark}")
    return "; ".join(parts)


def _role_mark(role: Role, cites: _Cites) -> str:
    """The [n] of the role's section; the quoted snippet is where its skills are listed when
    the answer will list them, else where the role is named."""
    skills = [i for i in role.skills if i.source == role.source]
    return cites.mark(role.source, skills[0].ko if skills else role.ko.split("(")[0])


def _step_lines(role: Role, lang: str, cites: _Cites) -> list[str]:
    if role.skills:
        return [_say("skills", lang, items=_items(role.skills, lang, cites))]
    if role.duties:
        return [_say("duties", lang, items=_items(role.duties, lang, cites))]
    return [_say("no_skills", lang)]


def _both(role: Role, lang: str) -> str:
    """A role's name, with the documents' own (Korean) name beside an English one."""
    return role.ko if lang == "ko" else f"{role.en} ({role.ko})"


def answer_path_question(q: PathQuestion, lang: Language, snap: Snapshot) -> Answer:
    """Compose the answer to a career-path question from the catalogue."""
    cat = snap.roles
    cites = _Cites(snap)
    lines: list[str] = []
    path: list[str] = []
    abstained = False
    kind = "answer"

    def name(role_id: str) -> str:
        role = cat.get(role_id)
        return role.name(lang) if role else role_id

    if q.kind == "unknown":
        known = ", ".join(r.name(lang) for r in cat.roles)
        asked = q.unknown if len(q.unknown) <= 60 else q.unknown[:59].rstrip() + "…"
        lines.append(_say("unknown", lang, name=asked, roles=known))
        abstained, kind = True, "out_of_scope"
    elif q.kind == "ladder":
        lines.append(_say("ladder_intro_top" if q.top_down else "ladder_intro", lang))
        ladder = cat.ladder()
        for i, role in enumerate(reversed(ladder) if q.top_down else ladder, start=1):
            lines.append(f"{i}. {_both(role, lang)} {_role_mark(role, cites)}")
        side = [r for r in cat.roles if r.track == "side"]
        if side:
            items = ", ".join(f"{_both(r, lang)} {_role_mark(r, cites)}" for r in side)
            lines.append(_say("ladder_side", lang, items=items))
        path = [r.id for r in ladder]
    elif q.kind == "pay":
        ranked = sorted((r for r in cat.roles if r.pay_rank), key=lambda r: r.pay_rank or 0)
        place = len(ranked) if q.place < 0 else q.place
        if 0 < place <= len(ranked):
            # "#4 highest paying": that place, not the whole ranking.
            role = ranked[place - 1]
            mark = cites.mark(role.pay[0].source, role.ko.split("(")[0])
            lines.append(_say("pay_place", lang, n=place, role=_both(role, lang), m=mark))
            duty = role.duties[0] if role.duties else None
            if duty is not None:
                lines.append(f"{duty.text(lang)} {cites.mark(duty.source)}")
            return Answer(
                text="\n".join(lines),
                citations=cites.citations,
                language=lang,
                focus=role.id,  # "what do they do?" next is about that role
                path=[role.id],
                path_kind=q.kind,
            )
        lines.append(_say("pay_intro", lang))
        for i, role in enumerate(ranked, start=1):
            note = role.pay[0]
            lines.append(f"{i}. {role.name(lang)} {cites.mark(note.source, role.ko.split('(')[0])}")
        specialists = [r for r in cat.roles if r.pay and not r.pay_rank and r.level > 1]
        if specialists:
            marks = sorted({cites.mark(r.pay[0].source) for r in specialists})
            items = ", ".join(r.name(lang) for r in specialists) + " " + "".join(marks)
            lines.append(_say("pay_specialists", lang, items=items))
        entry = next((r for r in cat.ladder() if r.pay), None)
        # The entry-level figure answers the ranking only when the question names that level
        # ("상담원 연봉은 어때? 제일 높은 직책은?"); otherwise it is padding.
        if entry is not None and entry.level == 1 and entry.id in q.roles:
            note = entry.pay[0]
            m = cites.mark(note.source, "시간당 20달러")
            lines.append(_say("pay_entry", lang, text=note.text(lang), m=m))
        path = [r.id for r in ranked]
    elif q.kind == "path":
        start, goal = q.roles[0], q.roles[1]
        steps = cat.path(start, goal)
        if steps is None:
            a, b = cat.get(start), cat.get(goal)
            assert a is not None
            assert b is not None
            nxt = ", ".join(name(r) for r in a.leads_to) or _say("none", lang)
            m = _role_mark(a, cites) + _role_mark(b, cites)
            lines.append(_say("no_path", lang, a=a.name(lang), b=b.name(lang), m=m, next=nxt))
            path = [start, goal]
        elif len(steps) == 1:
            lines.append(_say("same", lang, a=steps[0].name(lang)))
            path = [start]
        else:
            lines.append(_say("path_intro", lang, a=name(start), b=name(goal), n=len(steps) - 1))
            for i, (here, there) in enumerate(itertools.pairwise(steps), start=1):
                m = _role_mark(there, cites)
                lines.append(_say("step", lang, i=i, a=here.name(lang), b=there.name(lang), m=m))
                lines.extend(_step_lines(there, lang, cites))
            path = [r.id for r in steps]
    else:  # next / skills
        current = cat.get(q.roles[0])
        assert current is not None
        main = [r for r in (cat.get(x) for x in current.leads_to) if r and r.track == current.track]
        main = main or [r for r in (cat.get(x) for x in current.leads_to) if r][:1]
        side = [r for r in (cat.get(x) for x in current.leads_to) if r and r not in main]
        if not main:
            lines.append(_say("top", lang, a=current.name(lang), m=_role_mark(current, cites)))
            path = [current.id]
        else:
            intro = "skills_intro" if q.kind == "skills" else "next_intro"
            lines.append(_say(intro, lang, a=current.name(lang)))
            for r in main:
                lines.append(_say("next_main", lang, b=r.name(lang), m=_role_mark(r, cites)))
                lines.extend(_step_lines(r, lang, cites))
            for r in side if q.kind == "next" else []:
                lines.append(_say("next_side", lang, b=r.name(lang), m=_role_mark(r, cites)))
            path = [current.id, main[0].id]
    return Answer(
        text="\n".join(lines),
        citations=cites.citations,
        abstained=abstained,
        language=lang,
        kind=kind,
        focus=path[-1] if path and q.kind != "pay" else "",
        path=path if q.kind != "unknown" else [],
        path_kind=q.kind if q.kind != "unknown" else "",
    )


# -- the picture ---------------------------------------------------------------------------


def hangul_font_path() -> Path:
    """NanumGothic as bundled by the koreanize-matplotlib package (found without importing it:
    its import changes matplotlib's global settings)."""
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "koreanize-matplotlib is not installed: pip install koreanize-matplotlib"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "fonts" / "NanumGothic.ttf"


def render_ladder(
    catalogue: Catalogue, path: list[str] | None = None, language: Language = "ko"
) -> bytes:
    """The ladder (left column) and side tracks (right), the asked path highlighted, as PNG."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    family = _register_fonts()
    font = FontProperties(family=family, size=9)
    bold = FontProperties(fname=str(hangul_font_path().with_name("NanumGothicBold.ttf")), size=9)
    path = path or []
    on_path = set(path)
    edges_on_path = set(itertools.pairwise(path))
    ladder = catalogue.ladder()
    side = [r for r in catalogue.roles if r.track == "side"]
    step = 1.5  # vertical distance between levels
    pos: dict[str, tuple[float, float]] = {r.id: (0.0, r.level * step) for r in ladder}
    by_level: dict[int, list[Role]] = {}
    for r in side:
        by_level.setdefault(r.level, []).append(r)
    for level, roles in by_level.items():
        rows = 2 if len(roles) > 3 else 1
        for i, r in enumerate(roles):
            offset = (0.33 if i < 3 else -0.33) if rows == 2 else 0.0
            pos[r.id] = (2.6 + 2.3 * (i % 3), level * step + offset)
    top = max(r.level for r in catalogue.roles) if catalogue.roles else 1
    height = (top + 1) * step
    fig = Figure(figsize=(11.0, height * 0.62), dpi=110)
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.93))
    ax.set_xlim(-1.3, 9.8)
    ax.set_ylim(step - 0.6, height - 0.2)
    ax.axis("off")
    title = "콜센터 경력 사다리" if language == "ko" else "Call-center career ladder"
    if len(path) >= 2:
        first, last = catalogue.get(path[0]), catalogue.get(path[-1])
        if first and last:
            title += f": {first.name(language)} > {last.name(language)}"
    fig.suptitle(title, fontproperties=FontProperties(family=family, size=13))

    def label(role: Role) -> str:
        other = role.en if language == "ko" else role.ko
        return f"{role.name(language)}\n{other}"

    for role in catalogue.roles:
        for nxt in role.leads_to:
            if nxt not in pos:
                continue
            hot = (role.id, nxt) in edges_on_path
            arrow = FancyArrowPatch(
                pos[role.id],
                pos[nxt],
                arrowstyle="-|>",
                mutation_scale=12,
                color="#d62728" if hot else "#b0b0b0",
                linewidth=2.6 if hot else 0.8,
                shrinkA=16,
                shrinkB=16,
                connectionstyle="arc3,rad=0.0" if role.track == "ladder" else "arc3,rad=0.08",
                zorder=3 if hot else 1,
            )
            ax.add_patch(arrow)
    for role in catalogue.roles:
        x, y = pos[role.id]
        hot = role.id in on_path
        face = "#ffd8d8" if hot else ("#dbe9f6" if role.track == "ladder" else "#eeeeee")
        box = FancyBboxPatch(
            (x - 1.0, y - 0.24),
            2.0,
            0.48,
            boxstyle="round,pad=0.02",
            facecolor=face,
            edgecolor="#d62728" if hot else "#555555",
            linewidth=2.0 if hot else 0.8,
            zorder=4,
        )
        ax.add_patch(box)
        ax.text(
            x,
            y,
            label(role),
            ha="center",
            va="center",
            fontproperties=bold if hot else font,
            zorder=5,
            linespacing=1.2,
        )
    ax.text(-1.2, height - 0.5, "사다리" if language == "ko" else "Ladder", fontproperties=font)
    ax.text(1.8, height - 0.5, "옆길" if language == "ko" else "Side tracks", fontproperties=font)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


_FAMILY: list[str] = []


def _register_fonts() -> list[str]:
    """Make the bundled NanumGothic known to matplotlib (once); Hangul comes from it, and
    symbols it lacks (the arrow) fall back to matplotlib's own DejaVu Sans."""
    if not _FAMILY:
        from matplotlib import font_manager

        folder = hangul_font_path().parent
        for name in ("NanumGothic.ttf", "NanumGothicBold.ttf"):
            font_manager.fontManager.addfont(str(folder / name))
        _FAMILY.extend(["NanumGothic", "DejaVu Sans"])
    return _FAMILY


async def picture_for(snap: Snapshot, answer: Answer) -> bytes | None:
    """The ladder picture for a path answer (off the event loop), or None for other answers."""
    import asyncio

    if not answer.path or not snap.roles.roles:
        return None
    highlight = answer.path if answer.path_kind != "pay" else []
    return await asyncio.to_thread(render_ladder, snap.roles, highlight, answer.language)


def picture_name(answer: Answer) -> str:
    """A file name for the picture: path-agent-to-customer-service-director.png."""
    if len(answer.path) >= 2 and answer.path_kind != "pay":
        slug = f"{answer.path[0]}-to-{answer.path[-1]}"
    else:
        slug = "ladder"
    return "path-" + re.sub(r"[^a-z0-9]+", "-", slug.lower()).strip("-") + ".png"


def answer_between(snap: Snapshot, start: str, goal: str, language: Language) -> Answer:
    """The path answer for two role names as typed (`career-bot path FROM TO`)."""
    a = resolve_roles(start, snap)
    b = resolve_roles(goal, snap)
    if not a or not b:
        unknown = goal if a else start
        return answer_path_question(PathQuestion("unknown", unknown=unknown), language, snap)
    return answer_path_question(PathQuestion("path", [a[0], b[0]]), language, snap)
