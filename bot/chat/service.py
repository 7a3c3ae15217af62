"""The chat rules every platform shares, once: the surfaces render, this decides.

A platform adapter (Slack, Discord, the console) translates its events into calls here and the
typed outcomes back into its own replies. What is decided here and nowhere else:

- exactly-once handling across replicas (`claim`), while the store is down once per process;
- the per-user rate limit and its retry-after (`admit`);
- whether a follow-up is in a conversation the bot answered in (`remember`, `answered_in`);
- the admin gate (`admin_scope`, `is_admin`) and the admin commands: a re-ingest started or
  refused as busy (`start_reingest`), the admins' report of what that admin may see
  (`report`), both behind the gate (`admin_command`);
- recording a vote with the documents its answer cited (`record_vote`);
- error reference ids (`new_ref`), which answers can be rated (`RATED_KINDS`), and the source
  lines under an answer (`source_lines`);
- answering a message from start to end (`handle_message`): the claim, the rate limit, empty
  and help messages, the advisor, the career-path picture and the apology for a failure, each
  step handed to the surface as a typed outcome to render.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import replace
from typing import Any, Protocol

from bot.advisor.knowledge import KnowledgeBase
from bot.advisor.models import Answer, Question
from bot.advisor.retrieval import QueryEmbedder
from bot.chat.language import reply_language
from bot.chat.outcomes import (
    RATED_KINDS,
    AdminOutcome,
    Answered,
    Ask,
    Command,
    Duplicate,
    Empty,
    Failed,
    Feedback,
    Help,
    HelpAsked,
    Incoming,
    MessageOutcome,
    Picture,
    Platform,
    RateLimited,
    Refused,
    Reingest,
    ReingestDone,
    ReingestFailed,
    ReingestOutcome,
    ReingestRefused,
    ReingestRunning,
    ReingestStarted,
    Replied,
    ReportFailed,
    ReportReady,
    ReportRequest,
    SendReply,
    VoteFailed,
    VoteRecorded,
    Working,
)
from bot.chat.reingest import ReingestBusy, ReingestRun, make_reingest
from bot.chat.report import Report, parse_since
from bot.state import RateDecision, Scope, StateRejected, StateStore, StateUnavailable, Vote
from bot.state.retention import Retention
from bot.state.writer import TurnWriter
from core.settings import Settings

logger = logging.getLogger(__name__)

#: Conversations this process answered in, remembered in memory (the state store is the shared
#: fallback, for other replicas and after a restart).
ANSWERED_CACHE_SIZE = 5000

#: Event keys this process claimed, remembered in memory so that while the store is down a
#: retry of one (Slack redelivers an event for up to an hour) is not answered twice. Keys of
#: a few hours of traffic; an older retry while the store is down is answered again.
CLAIMED_CACHE_SIZE = 20_000


def new_ref() -> str:
    """A short reference id for a failure: logged with the traceback, shown to the user."""
    return secrets.token_hex(4)


def source_lines(answer: Answer) -> list[str]:
    """One line per cited section, in marker order: "[1][2] title — section (date)".

    Several chunks of one section are one source to a reader, so their markers share a line.
    """
    grouped: dict[tuple[str, str, str], list[int]] = {}
    for c in answer.citations:
        key = (c.title or c.source, c.section or "", c.published or "")
        grouped.setdefault(key, []).append(c.marker)
    lines = []
    for (title, section, published), markers in grouped.items():
        where = f"{title} — {section}" if section else title
        dated = f" ({published})" if published else ""
        lines.append("".join(f"[{m}]" for m in markers) + f" {where}{dated}")
    return lines


# -- admin commands, typed -------------------------------------------------------------------
HELP_WORDS = frozenset({"", "help", "도움말", "?", "-h", "--help"})
REINGEST_WORDS = frozenset({"reingest", "re-ingest", "재수집"})
REPORT_WORDS = frozenset({"report", "보고서"})
#: The period a report covers unless the admin names one.
DEFAULT_PERIOD = "7d"
#: What follows "report" when it names a period: one short word ("7d", "24h"; "soon" is told
#: how to write one). Several words ("report writing tips") are a question.
_PERIOD_LIKE = re.compile(r"^\S{1,12}$")


def report_request(value: str) -> ReportRequest:
    """The report asked for with the period `value` ("7d", "24h", "2w"; empty: a week)."""
    value = value.strip() or DEFAULT_PERIOD
    try:
        return ReportRequest(parse_since(value), value)
    except ValueError:
        return ReportRequest(None, value)


def parse_command(text: str) -> Command:
    """What a command's text asks for: help, a re-ingest, the report, or else a question.

    "report", "report 7d" ask for the admins' report; "보고서 잘 쓰는 법?" is a question.
    """
    text = text.strip()
    word = text.lower()
    if word in HELP_WORDS:
        return Help()
    if word in REINGEST_WORDS:
        return Reingest()
    first, _, period = word.partition(" ")
    period = period.strip()
    if first in REPORT_WORDS and (not period or _PERIOD_LIKE.match(period)):
        return report_request(period)
    return Ask(text)


class AdvisorLike(Protocol):
    """What the chat service needs from the advisor (`bot.advisor.Advisor` satisfies it)."""

    #: The conversation memory the advisor writes behind its answers, over the shared store.
    memory: TurnWriter

    async def ask(self, question: Question) -> Answer: ...
    def help(self, language: str = "ko") -> str: ...


#: Draws the career-path picture of a path answer (PNG bytes), or None.
Pictures = Callable[[Answer], Awaitable[bytes | None]]
#: Builds the admins' report of the last seconds given, of what the scope covers (None: all).
Reports = Callable[[float, Scope | None], Awaitable[Report]]


class ChatService:
    """The platform-neutral chat rules, over the advisor, its shared state store and the admin
    operations the service is given. One per process, shared by every surface."""

    def __init__(
        self,
        settings: Settings,
        advisor: AdvisorLike,
        *,
        reingest: ReingestRun | None = None,
        pictures: Pictures | None = None,
        ready: Callable[[], Awaitable[Any]] | None = None,
        reports: Reports | None = None,
        sources: Callable[[list[str]], list[str]] | None = None,
    ) -> None:
        """`reingest` re-runs ingest for the admins, `pictures` draws career-path pictures,
        `ready` checks the served index, `reports` builds the admins' report and `sources`
        names the documents a vote's chunks are from; without them a re-ingest or the report
        fails with a reference, there are no pictures, the health check passes and votes keep
        only their chunk ids."""
        self.settings = settings
        self.advisor = advisor
        self._run_reingest = reingest
        self._pictures = pictures
        self._ready = ready
        self._reports = reports
        self._sources = sources
        self._reingest: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._housekeeping: asyncio.Task[None] | None = None
        self._conversations: OrderedDict[str, None] = OrderedDict()
        self._claimed: OrderedDict[str, None] = OrderedDict()

    @property
    def state(self) -> StateStore:
        return self.advisor.memory.store

    async def ready(self) -> None:
        """Raises while the served index cannot be read (health checks)."""
        if self._ready is not None:
            await self._ready()

    # -- what a surface reports and says ---------------------------------------------------
    async def health(self, handlers: Handlers) -> tuple[int, dict[str, Any]]:
        """A health check's HTTP status and JSON body: 503 while the served index cannot be
        read; else 200, whether a re-ingest runs and how much work the surface's `handlers`
        have in flight (events, commands and clicks acknowledged, not yet handled to the end).
        """
        try:
            await self.ready()
        except Exception as exc:
            logger.warning("health check: knowledge base not ready (%s)", exc.__class__.__name__)
            return 503, {"status": "unavailable"}
        body = {
            "status": "ok",
            "reingest_running": self.reingest_running,
            "in_flight": len(handlers.pending),
        }
        return 200, body

    def say(self, outcome: Replied) -> str:
        """What the bot says, in the outcome's language, for a message it gives no answer:
        the help for a help word, else the notice (rate limit, empty question, apology)."""
        from bot.chat.phrases import describe

        if isinstance(outcome, HelpAsked):
            return self.help(outcome.language)
        assert not isinstance(outcome, Answered)
        return describe(outcome, outcome.language)

    # -- questions ---------------------------------------------------------------------------
    def help(self, language: str) -> str:
        return self.advisor.help(language)

    async def answer(self, question: Question) -> Answer:
        """The advisor's answer (never raises for the advisor's own failures), its turn stored
        before it is posted: a follow-up may reach another replica right after the answer."""
        answer = await self.advisor.ask(question)
        await self.advisor.memory.recorded(question.conversation_id)
        return answer

    async def reset(self, conversation_id: str) -> None:
        """Forget the conversation; with the store down the advisor simply remembers nothing."""
        await self.advisor.memory.reset(conversation_id)

    async def picture(self, answer: Answer) -> Picture | None:
        """The career-path picture for a path answer, or None. A picture that cannot be drawn
        is logged and left out: the text answer still goes."""
        if not answer.path or answer.kind not in RATED_KINDS or self._pictures is None:
            return None
        from bot.advisor.paths import picture_name

        try:
            data = await self._pictures(answer)
        except Exception:
            logger.warning("could not draw the career-path picture", exc_info=True)
            return None
        return Picture(picture_name(answer), data) if data else None

    async def handle_message(
        self, msg: Incoming, reply: SendReply, *, working: Working | None = None
    ) -> MessageOutcome:
        """Answer one message: exactly once, within the rate limit, with `reply` rendering
        and sending each outcome. `working` wraps the advisor's work and the answer's reply.

        A failure anywhere, the reply included, is logged with a reference and `reply` gets a
        `Failed` to apologise with; never raises."""
        for key in msg.claims:
            if not await self.claim(key):
                logger.debug("%s: %s already handled", msg.platform, key)
                return Duplicate()
        language = reply_language(msg.text, msg.locale)
        outcome: Replied
        try:
            limited = await self.admit(msg.platform, msg.user_id)
            if limited is not None:
                outcome = replace(limited, language=language)
            elif not msg.text.strip():
                outcome = Empty(language)
            elif isinstance(parse_command(msg.text), Help):
                outcome = HelpAsked(language)
            else:
                shown = working(language) if working is not None else contextlib.nullcontext()
                async with shown as conversation_id:
                    outcome = await self._answered(msg, conversation_id or msg.conversation_id)
                    await reply(outcome)
                return outcome
            await reply(outcome)
            return outcome
        except Exception:
            return await self._apologise(msg, language, reply)

    async def _answered(self, msg: Incoming, conversation_id: str) -> Answered:
        question = Question(
            text=msg.text,
            user_id=msg.user_id,
            conversation_id=conversation_id,
            platform=msg.platform,
        )
        answer = await self.answer(question)
        return Answered(answer, msg.text, await self.picture(answer), asker=msg.user_id)

    async def _apologise(self, msg: Incoming, language: str, reply: SendReply) -> Failed:
        ref = new_ref()
        where = f", {msg.where}" if msg.where else ""
        logger.exception("%s: %s failed (ref %s%s)", msg.platform, msg.action, ref, where)
        failed = Failed(ref, language)
        try:
            await reply(failed)
        except Exception:
            logger.exception("%s: could not post the apology either (ref %s)", msg.platform, ref)
        return failed

    # -- a failure outside a message ---------------------------------------------------------
    def failure(
        self, platform: Platform, action: str, error: BaseException, language: str
    ) -> Failed:
        """A failure no other rule caught (a slash command that raised), logged with its
        traceback and a reference; the surface apologises with the `Failed` it gets."""
        ref = new_ref()
        logger.error("%s: %s failed (ref %s)", platform, action, ref, exc_info=error)
        return Failed(ref, language)

    # -- shared state, failing open ---------------------------------------------------------
    def _noted(self, *, reachable: bool) -> None:
        # The memory logs the outage and the recovery once per process, whoever saw them.
        self.advisor.memory.note_state(reachable=reachable)

    async def _state_call(self, call: Awaitable[Any], fallback: Any) -> Any:
        """`call`'s result, or `fallback` when the store cannot answer it: down (noted as an
        outage), or up but refusing this one record (an error for it, not an outage)."""
        try:
            result = await call
        except StateUnavailable:
            self._noted(reachable=False)
            return fallback
        except StateRejected as exc:
            logger.error("state store refused a record (%s); going on without it", exc)
            return fallback
        self._noted(reachable=True)
        return result

    async def claim(self, key: str) -> bool:
        """True when this process should handle the event: exactly once across replicas.

        While the store is down this process still handles each event once: a key it has
        claimed before (a retry) is refused, a new one is granted (an answer beats none)."""
        try:
            granted = await self.state.claim(key)
        except StateUnavailable:
            self._noted(reachable=False)
            granted = key not in self._claimed
        else:
            self._noted(reachable=True)
        if granted:
            _remember(self._claimed, key, CLAIMED_CACHE_SIZE)
        return bool(granted)

    async def claimed(self, key: str) -> bool:
        """Has any replica claimed `key`? False when the store is down."""
        return bool(await self._state_call(self.state.claimed(key), False))

    async def has_turns(self, conversation_id: str) -> bool:
        """Does the conversation have a remembered turn? False when the store is down."""
        turns = await self._state_call(
            self.state.recent_turns(conversation_id, 1, self.settings.memory_idle_minutes * 60),
            [],
        )
        return bool(turns)

    def remember(self, conversation_id: str) -> None:
        """Note that the bot answered in `conversation_id` (see `answered_in`)."""
        _remember(self._conversations, conversation_id, ANSWERED_CACHE_SIZE)

    async def answered_in(self, conversation_id: str, first_message_key: str) -> bool:
        """Did the bot answer in this conversation (a thread)? Memory first, then the shared
        store: a turn of the conversation, or (for a declined question, which leaves no turn)
        a replica's claim on its first message (`first_message_key`)."""
        if conversation_id in self._conversations:
            return True
        if await self.has_turns(conversation_id):
            return True
        return await self.claimed(first_message_key)

    async def admit(self, platform: Platform, user_id: str) -> RateLimited | None:
        """None when the user may ask now; else how long to wait. Open when the store is down."""
        limit = self.settings.rate_limit_per_minute
        allowed = RateDecision(allowed=True, count=0, limit=limit, retry_after_s=0.0)
        decision: RateDecision = await self._state_call(
            self.state.hit_rate(f"{platform}:{user_id}", limit), allowed
        )
        if decision.allowed:
            return None
        logger.info("%s: rate limited user %s (%d/min)", platform, user_id, decision.limit)
        return RateLimited(seconds=max(1, math.ceil(decision.retry_after_s)), limit=limit)

    # -- admins ------------------------------------------------------------------------------
    def admin_scope(
        self,
        platform: Platform,
        user_id: str,
        *,
        guild_id: str | None = None,
        manages_server: bool = False,
    ) -> Scope | None:
        """What the user may administer, None for a non-admin.

        Admins are listed in SLACK_ADMIN_USER_IDS / DISCORD_ADMIN_USER_IDS and administer
        their whole platform. On Discord a member who may manage the guild the command came
        from (`guild_id`, `manages_server`) administers that guild, but only when it is listed
        in DISCORD_ADMIN_GUILD_IDS: anyone can add the bot to a server of their own, so
        Manage Server elsewhere (or in a DM) grants nothing."""
        if platform == "slack":
            return Scope("slack") if user_id in self.settings.slack_admin_user_ids else None
        if platform == "discord":
            if user_id in {str(i) for i in self.settings.discord_admin_user_ids}:
                return Scope("discord")
            guilds = {str(i) for i in self.settings.discord_admin_guild_ids}
            if manages_server and guild_id is not None and guild_id in guilds:
                return Scope("discord", guild_id)
        return None

    def is_admin(
        self,
        platform: Platform,
        user_id: str,
        *,
        guild_id: str | None = None,
        manages_server: bool = False,
    ) -> bool:
        """May the user run the admin commands? (see `admin_scope`)"""
        scope = self.admin_scope(
            platform, user_id, guild_id=guild_id, manages_server=manages_server
        )
        return scope is not None

    @property
    def reingest_running(self) -> bool:
        return self._reingest is not None and not self._reingest.done()

    def start_reingest(
        self,
        announce: Callable[[ReingestOutcome], Awaitable[None]],
        *,
        first: Callable[[], Awaitable[None]] | None = None,
    ) -> bool:
        """Start a re-ingest in the background; False (nothing started) when one is running.

        Decided without an await, so a second request right after this one is told it is
        busy. `first` runs before the ingest (a "started" notice), `announce` gets the outcome.
        """
        if self.reingest_running:
            return False
        self._reingest = self.spawn(self._reingest_run(announce, first))
        return True

    async def _reingest_run(
        self,
        announce: Callable[[ReingestOutcome], Awaitable[None]],
        first: Callable[[], Awaitable[None]] | None,
    ) -> None:
        if first is not None:
            try:
                await first()
            except Exception:
                logger.warning("could not send the re-ingest notice", exc_info=True)
        outcome: ReingestOutcome
        try:
            if self._run_reingest is None:
                raise RuntimeError("this chat service has no re-ingest")
            summary = await self._run_reingest()
        except ReingestBusy:
            outcome = ReingestRefused()
        except Exception:
            ref = new_ref()
            logger.exception("re-ingest failed (ref %s)", ref)
            outcome = ReingestFailed(ref)
        else:
            logger.info("re-ingest finished: %s", summary)
            outcome = ReingestDone(summary)
        try:
            await announce(outcome)
        except Exception:
            logger.exception("could not announce the re-ingest outcome")

    async def admin_command(
        self,
        platform: Platform,
        user_id: str,
        command: Reingest | ReportRequest,
        *,
        announce: Callable[[ReingestOutcome], Awaitable[None]],
        guild_id: str | None = None,
        manages_server: bool = False,
        claims: tuple[str, ...] = (),
        first: Callable[[], Awaitable[None]] | None = None,
        working: Callable[[], Awaitable[None]] | None = None,
    ) -> AdminOutcome:
        """Run an admin command once, for an admin: start a re-ingest (`announce` and `first`
        as in `start_reingest`) or build the report (`working` runs before it, a Slack ack or
        a Discord deferral), of what that admin may see (`admin_scope`, with `guild_id` and
        `manages_server`). Everyone else is refused (`Refused`); a report asked for with no
        period is the `ReportRequest` back."""
        for key in claims:
            if not await self.claim(key):
                return Duplicate()
        name = "reingest" if isinstance(command, Reingest) else "report"
        scope = self.admin_scope(
            platform, user_id, guild_id=guild_id, manages_server=manages_server
        )
        if scope is None:
            logger.info("%s: refused /career %s for non-admin %s", platform, name, user_id)
            return Refused(name, platform)
        if isinstance(command, Reingest):
            logger.info("%s: re-ingest requested by %s", platform, user_id)
            started = self.start_reingest(announce, first=first)
            return ReingestStarted() if started else ReingestRunning()
        if command.period_s is None:
            return command
        if working is not None:
            await working()
        return await self.report(command.period_s, scope)

    async def report(
        self, since_s: float, scope: Scope | None = None
    ) -> ReportReady | ReportFailed:
        """The admins' report of the last `since_s` seconds, of what `scope` covers (None:
        everything), rendered as text."""
        try:
            if self._reports is None:
                raise RuntimeError("this chat service has no report source")
            return ReportReady((await self._reports(since_s, scope)).render())
        except Exception:
            ref = new_ref()
            logger.exception("the admins' report failed (ref %s)", ref)
            return ReportFailed(ref)

    # -- votes -------------------------------------------------------------------------------
    async def record_vote(
        self,
        platform: Platform,
        *,
        message_ref: str,
        user_id: str,
        vote: int,
        question: str,
        answer: str,
        chunk_ids: list[str],
        asker_id: str = "",
        conversation_id: str = "",
    ) -> VoteRecorded | VoteFailed:
        """Store a helpful (+1) / not helpful (-1) click with the answer it is about, who asked
        it (`asker_id`, "" when the platform cannot tell) and the conversation it was cast in
        (what a report of one workspace looks for)."""
        record = Vote(
            platform=platform,
            message_ref=message_ref,
            user_id=user_id,
            vote=vote,
            question=question,
            answer=answer,
            chunk_ids=chunk_ids,
            created_at=time.time(),
            sources=self._sources(chunk_ids) if self._sources is not None else [],
            asker_id=asker_id,
            conversation_id=conversation_id,
        )
        try:
            await self.state.record_vote(record)
        except Exception as exc:
            ref = new_ref()
            if isinstance(exc, StateUnavailable):
                logger.warning("%s: could not store a vote (ref %s): %s", platform, ref, exc)
            else:
                logger.exception("%s: could not store a vote (ref %s)", platform, ref)
            return VoteFailed(ref)
        return VoteRecorded(vote)

    async def vote_on(
        self,
        platform: Platform,
        feedback: Feedback,
        *,
        message_ref: str,
        user_id: str,
        vote: int,
        conversation_id: str = "",
    ) -> VoteRecorded | VoteFailed:
        """`record_vote` for the answer `feedback` describes."""
        return await self.record_vote(
            platform,
            message_ref=message_ref,
            user_id=user_id,
            vote=vote,
            question=feedback.question,
            answer=feedback.answer,
            chunk_ids=feedback.chunk_ids,
            asker_id=feedback.asker,
            conversation_id=conversation_id,
        )

    # -- background work ---------------------------------------------------------------------
    def _retention(self) -> Retention:
        return Retention(
            self.state,
            self.settings.memory_retention_days,
            self.settings.vote_retention_days,
            self.advisor.memory.note_state,
        )

    async def purge_expired(self) -> None:
        """Apply the retention periods once (a console session, before it starts)."""
        await self._retention().purge()

    def start_housekeeping(self, *, purged: bool = False) -> None:
        """Apply the retention periods in the background until `close`: now, or an hour from
        now when `purge_expired` has just run."""
        if self._housekeeping is None:
            self._housekeeping = asyncio.create_task(self._retention().run(wait_first=purged))

    async def close(self) -> None:
        """Stop the retention loop (the advisor is closed by whoever built it)."""
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            await asyncio.gather(self._housekeeping, return_exceptions=True)
            self._housekeeping = None

    def spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run `work` in the background, waited for by `drain`."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @property
    def in_flight(self) -> set[asyncio.Task[Any]]:
        return set(self._tasks)


def _remember(recent: OrderedDict[str, None], key: str, size: int) -> None:
    """Put `key` last in `recent`, dropping the oldest keys beyond `size`."""
    recent[key] = None
    recent.move_to_end(key)
    while len(recent) > size:
        recent.popitem(last=False)


class Handlers:
    """The event handlers a chat surface is running, so a shutdown (or a test) can wait for
    them and for the chat service's background work (re-ingests)."""

    def __init__(self, chat: ChatService) -> None:
        self._chat = chat
        self._tasks: set[asyncio.Task[Any]] = set()

    def track(self) -> None:
        """Count the running handler (the current task) in flight until it ends."""
        task = asyncio.current_task()
        if task is not None and task not in self._tasks:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @property
    def pending(self) -> set[asyncio.Task[Any]]:
        return self._tasks | self._chat.in_flight

    async def drain(self, grace_s: float, *, settle_s: float = 0.0) -> bool:
        """Wait for the handlers and background work; True once none is left, False if some
        still run after `grace_s`. `settle_s` is a pause before each look, for a library
        that starts a handler's task only after acknowledging its event (Bolt)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace_s
        while True:
            if settle_s:
                await asyncio.sleep(settle_s)
            if not (pending := self.pending):
                return True
            if (remaining := deadline - loop.time()) <= 0:
                return False
            await asyncio.wait(pending, timeout=remaining)


@contextlib.asynccontextmanager
async def serving(
    settings: Settings, chat: ChatService | None = None
) -> AsyncIterator[ChatService]:
    """The chat service a bot runs on: `chat` when given; else one around an advisor of its
    own, lending its index (health, pictures, report, re-ingest) and running the retention
    loop, both closed afterwards."""
    if chat is not None:
        yield chat
        return
    from bot.advisor.advisor import build_advisor

    built = await build_advisor(settings)
    chat = build_chat_service(
        settings, built, knowledge=built.knowledge, embedder=built.retriever.embedder
    )
    chat.start_housekeeping()
    try:
        yield chat
    finally:
        await chat.close()
        await built.close()


def build_chat_service(
    settings: Settings,
    advisor: AdvisorLike,
    *,
    knowledge: KnowledgeBase | None = None,
    embedder: QueryEmbedder | None = None,
) -> ChatService:
    """The chat service around an advisor. With the served `knowledge` it also re-ingests,
    checks the index's health, draws career-path pictures and names a vote's sources; with
    the query `embedder` it builds the admins' report. Without them it only answers."""
    from bot.chat.report import build_report, sources_of

    store = advisor.memory.store
    reports: Reports | None = None
    if embedder is not None:

        async def report(since_s: float, scope: Scope | None) -> Report:
            return await build_report(store, embedder, since_s, scope=scope)

        reports = report
    if knowledge is None:
        return ChatService(settings, advisor, reports=reports)

    async def draw(answer: Answer) -> bytes | None:
        from bot.advisor.paths import picture_for

        return await picture_for(await knowledge.current(), answer)

    return ChatService(
        settings,
        advisor,
        reingest=make_reingest(settings, knowledge),
        pictures=draw,
        ready=knowledge.current,
        reports=reports,
        sources=lambda chunk_ids: sources_of(knowledge.snapshot, chunk_ids),
    )
