"""The state store, the same tests on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.state import MemoryStateStore, Scope, Vote
from bot.state.sql import SqlStateStore
from tests.conftest import postgres_database


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgres"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[SqlStateStore, Clock]]:
    clock = Clock()
    async with contextlib.AsyncExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path / 'state.sqlite3'}"
        else:
            # A database of the test's own: never another run's rows, never a shared clean-up.
            url, _ = await stack.enter_async_context(postgres_database("career_state"))
        state = SqlStateStore(url, clock=clock)
        await state.start()
        yield state, clock
        await state.close()


def _key() -> str:
    return f"test:{uuid.uuid4().hex}"


async def test_a_key_is_claimed_exactly_once_even_concurrently(
    store: tuple[SqlStateStore, Clock],
) -> None:
    state, _ = store
    key = _key()
    results = await asyncio.gather(*(state.claim(key) for _ in range(8)))
    assert results.count(True) == 1
    assert await state.claim(key) is False


async def test_claims_expire_after_their_ttl(store: tuple[SqlStateStore, Clock]) -> None:
    state, clock = store
    key = _key()
    assert await state.claim(key, ttl_s=60)
    clock.now += 61
    assert await state.claim(key, ttl_s=60)


async def test_a_claim_can_be_looked_up_without_taking_it(
    store: tuple[SqlStateStore, Clock],
) -> None:
    state, clock = store
    key = _key()
    assert not await state.claimed(key)
    assert await state.claim(key, ttl_s=60)
    assert await state.claimed(key, ttl_s=60)
    assert not await state.claim(key, ttl_s=60)  # looking did not release it
    clock.now += 61
    assert not await state.claimed(key, ttl_s=60)


async def test_rate_limit_counts_one_window_per_user(store: tuple[SqlStateStore, Clock]) -> None:
    state, clock = store
    clock.now = 60 * 28_333_334 + 40.0  # 40 s into a minute
    decisions = [await state.hit_rate("slack:U1", limit=3) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert decisions[-1].retry_after_s == pytest.approx(20.0)
    assert (await state.hit_rate("slack:U2", limit=3)).allowed
    clock.now += 21
    assert (await state.hit_rate("slack:U1", limit=3)).allowed


async def test_turns_are_bounded_ordered_and_expire_when_idle(
    store: tuple[SqlStateStore, Clock],
) -> None:
    state, clock = store
    for n in range(5):
        clock.now += 1
        await state.record_exchange("c1", "U1", "slack", f"q{n}", f"a{n}", focus="team leader")
    turns = await state.recent_turns("c1", limit=3, idle_s=600)
    assert [t.question for t in turns] == ["q2", "q3", "q4"]
    assert turns[-1].focus == "team leader"
    clock.now += 601
    assert await state.recent_turns("c1", limit=3, idle_s=600) == []


async def test_a_second_vote_replaces_the_first(store: tuple[SqlStateStore, Clock]) -> None:
    state, clock = store
    vote = Vote("slack", "C1:1.2", "U1", 1, "질문", "답", ["a", "b"], clock.now)
    await state.record_vote(vote)
    await state.record_vote(Vote("slack", "C1:1.2", "U1", -1, "질문", "답", ["a", "b"], clock.now))
    await state.record_vote(Vote("slack", "C1:1.2", "U2", 1, "질문", "답", ["a"], clock.now))
    votes = await state.votes()
    assert sorted((v.user_id, v.vote) for v in votes) == [("U1", -1), ("U2", 1)]
    assert votes[0].chunk_ids == ["a", "b"]


async def test_votes_clicked_at_once_keep_one_row_per_voter(
    store: tuple[SqlStateStore, Clock],
) -> None:
    """Two replicas storing one person's clicks at the same moment: no error, one vote."""
    state, clock = store
    clicks = [
        Vote("slack", "C1:7.7", "U1", 1 if n % 2 else -1, "질문", "답", ["a"], clock.now + n)
        for n in range(8)
    ]
    await asyncio.gather(*(state.record_vote(v) for v in clicks))
    votes = await state.votes()
    assert len(votes) == 1
    assert votes[0].vote in (1, -1)


async def test_forget_user_and_retention(store: tuple[SqlStateStore, Clock]) -> None:
    state, clock = store
    await state.record_exchange("c1", "U1", "slack", "q", "a")
    await state.record_exchange("c2", "U2", "slack", "q", "a")
    await state.record_vote(Vote("slack", "m", "U1", 1, "q", "a", [], clock.now))
    await state.hit_rate("slack:U1", limit=5)
    assert await state.forget_user("U1") == 4  # the turn, its question log, the vote, the window
    assert await state.count("turns") == 1
    assert await state.claim("slack:event:E1")
    clock.now += 31 * 86400
    # U2's turn and its question log, and the day-old claim; feedback stays for the report.
    assert await state.purge(retention_days=30) == 3
    assert await state.count("turns") == 0
    assert await state.count("asks") == 0
    assert await state.count("claims") == 0
    await state.record_vote(Vote("slack", "m2", "U2", -1, "q", "a", [], clock.now))
    clock.now += 365 * 86400
    await state.purge(retention_days=30)
    assert await state.count("feedback") == 1


async def test_purge_keeps_what_is_recent(store: tuple[SqlStateStore, Clock]) -> None:
    state, clock = store
    await state.record_exchange("c1", "U1", "slack", "old question", "a")
    clock.now += 20 * 86400
    await state.record_exchange("c1", "U1", "slack", "new question", "b")
    assert await state.claim("slack:event:E2")
    clock.now += 15 * 86400  # the first turn is 35 days old, the second 15, the claim 15
    assert await state.purge(retention_days=30) == 3  # first turn, its ask, the claim (>1 day)
    turns = await state.recent_turns("c1", limit=5, idle_s=30 * 86400)
    assert [t.question for t in turns] == ["new question"]


async def test_forget_matches_the_user_exactly(store: tuple[SqlStateStore, Clock]) -> None:
    state, clock = store
    await state.hit_rate("slack:U_1", limit=5)
    await state.hit_rate("slack:UX1", limit=5)  # "_" must not act as a LIKE wildcard
    await state.record_vote(Vote("slack", "m", "UX1", 1, "q", "a", [], clock.now))
    assert await state.forget_user("U_1") == 1
    assert await state.count("rate_windows") == 1
    assert await state.count("feedback") == 1


#: Where each declined question and down-vote came from: two Discord guilds (the second's id a
#: LIKE pattern for the first's, were it not escaped), a Discord DM, Slack, and a row from
#: before records kept their conversation (schema 2).
PLACES = {
    "guild 1": ("discord", "discord:11:500:7"),
    "guild 1x": ("discord", "discord:1_:500:7"),
    "dm": ("discord", "discord:dm:600:7"),
    "slack": ("slack", "slack:T1:C1:1.0"),
    "old": ("discord", ""),
}


async def _record_everywhere(state: SqlStateStore | MemoryStateStore, now: float) -> None:
    for n, (name, (platform, conversation)) in enumerate(PLACES.items()):
        await state.record_exchange(conversation, "U1", platform, f"{name}?", None, abstained=True)
        vote = Vote(
            platform, f"m{n}", "U2", -1, f"{name}?", "답", [], now, conversation_id=conversation
        )
        await state.record_vote(vote)


async def _asked_in(state: SqlStateStore | MemoryStateStore, scope: Scope | None) -> list[str]:
    declined = sorted(await state.declined(scope=scope))
    assert sorted(v.question for v in await state.votes(scope=scope)) == declined
    return [q.rstrip("?") for q in declined]


async def _check_report_scopes(state: SqlStateStore | MemoryStateStore, now: float) -> None:
    await _record_everywhere(state, now)
    assert await _asked_in(state, None) == sorted(PLACES)
    assert await _asked_in(state, Scope("discord")) == ["dm", "guild 1", "guild 1x", "old"]
    assert await _asked_in(state, Scope("discord", "11")) == ["guild 1"]
    assert await _asked_in(state, Scope("discord", "1_")) == ["guild 1x"]
    assert await _asked_in(state, Scope("discord", "12")) == []
    assert await _asked_in(state, Scope("slack")) == ["slack"]
    [vote] = await state.votes(scope=Scope("discord", "11"))
    assert vote.conversation_id == "discord:11:500:7"


async def test_a_report_scope_keeps_to_one_platform_and_one_workspace(
    store: tuple[SqlStateStore, Clock],
) -> None:
    state, clock = store
    await _check_report_scopes(state, clock.now)


async def test_the_memory_store_scopes_a_report_the_same_way() -> None:
    clock = Clock()
    await _check_report_scopes(MemoryStateStore(clock=clock), clock.now)


async def test_a_declined_question_is_logged_but_not_remembered(
    store: tuple[SqlStateStore, Clock],
) -> None:
    state, _ = store
    await state.record_exchange(
        "d1", "U1", "discord", "피자 맛집?", None, abstained=True, kind="out_of_scope"
    )
    await state.record_exchange("d1", "U1", "discord", "팀 리더 기술?", "답", kind="answer")
    assert await state.declined() == ["피자 맛집?"]
    assert [t.question for t in await state.recent_turns("d1", limit=5, idle_s=60)] == [
        "팀 리더 기술?"
    ]


async def test_an_unreachable_server_raises_state_unavailable() -> None:
    from bot.state import StateUnavailable

    state = SqlStateStore("postgresql+asyncpg://nobody@127.0.0.1:1/none", start_retry_s=0)
    with pytest.raises(StateUnavailable):
        await state.start()
    with pytest.raises(StateUnavailable):
        await state.claim("x")
    await state.close()


async def test_start_retries_an_unreachable_server_then_names_the_setting(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from bot.devtools.loopback.processes import free_port
    from bot.state import StateUnavailable

    port = free_port()  # nothing listens there: every connect is refused
    url = f"postgresql+asyncpg://career:s3cret-pw@127.0.0.1:{port}/career"
    state = SqlStateStore(url, start_retry_s=2.0)
    caplog.set_level(logging.WARNING, logger="bot.state.sql")
    try:
        with pytest.raises(StateUnavailable) as raised:
            await asyncio.wait_for(state.start(), 60)  # bounded: never hangs
    finally:
        await state.close()
    retries = [r for r in caplog.records if r.name == "bot.state.sql"]
    # Pauses of 0.5, 1 and the 0.5 s left: four tries, a warning for each one retried.
    assert len(retries) >= 2, [r.getMessage() for r in retries]
    for n, record in enumerate(retries, 1):
        assert record.levelno == logging.WARNING
        assert record.exc_info is None  # no traceback
        assert f"(attempt {n})" in record.getMessage()
    message = str(raised.value)
    assert f"after {len(retries) + 1} attempt(s)" in message
    assert "STATE_URL" in message
    for secret in ("s3cret-pw", str(port), "career@", url):
        assert secret not in message
        assert all(secret not in r.getMessage() for r in retries)


# What people type can hold anything: NUL (PostgreSQL refuses it in text), a lone surrogate
# (UTF-8 cannot encode it), terminal escape sequences, C1 controls.
DIRTY = "팀\x00 리더\ud800는?\x1b[31m 빨강\x1b[0m\x9b2J\x7f\r\n둘째 줄\t탭"
CLEAN = "팀 리더\ufffd는?[31m 빨강[0m2J\n둘째 줄\t탭"


def test_stored_text_is_cleaned_in_one_way() -> None:
    from bot.state import clean_text

    assert clean_text(DIRTY) == CLEAN
    assert clean_text("\ud83d\ude00 \udc00") == "😀 \ufffd"  # a split pair is joined
    assert clean_text("줄\n탭\t") == "줄\n탭\t"
    assert clean_text(CLEAN) == CLEAN


async def test_dirty_text_is_stored_cleaned_and_is_no_outage(
    store: tuple[SqlStateStore, Clock], caplog: pytest.LogCaptureFixture
) -> None:
    """A NUL or a lone surrogate used to be a DataError on PostgreSQL, reported as an outage
    and the turn dropped: it is stored, cleaned, through the writer as the bot writes it."""
    from bot.state.writer import TurnWriter

    state, clock = store
    writer = TurnWriter(state, turns=4, idle_s=600)
    writer.record("c\x00d", "U\x001", "slack", DIRTY, "답\x00\ud800", topic="pay\x1b")
    await writer.flush()  # flush waits for a conversation's latest write only
    writer.record("c\x00d", "U\x001", "slack", DIRTY, None, abstained=True)
    await writer.flush()
    [turn] = await writer.recent("c\x00d")
    assert (turn.question, turn.answer, turn.topic) == (CLEAN, "답\ufffd", "pay")
    assert await state.declined() == [CLEAN]
    await state.record_vote(
        Vote("slack", "m\x00", "U\x001", -1, DIRTY, DIRTY, ["c\ud800"], clock.now, ["doc\x1b"])
    )
    [vote] = await state.votes()
    assert (vote.message_ref, vote.user_id, vote.question, vote.answer) == ("m", "U1", CLEAN, CLEAN)
    assert (vote.chunk_ids, vote.sources) == (["c\ufffd"], ["doc"])
    assert await state.claim("slack:event:\x00E1")
    assert await state.claimed("slack:event:E1\x00")
    assert (await state.hit_rate("slack:U\x001", limit=5)).allowed
    # Ids are cleaned on the way in and on lookups alike: the same raw id finds its rows.
    assert await state.forget_user("U\x001") == 5  # the turn, two asks, the vote, the window
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_memory_store_keeps_text_as_the_sql_store_does() -> None:
    state = MemoryStateStore()
    await state.record_exchange("c\x00", "U1", "slack", DIRTY, "답\x00", abstained=True)
    [turn] = await state.recent_turns("c", limit=4, idle_s=600)
    assert (turn.question, turn.answer) == (CLEAN, "답")
    assert await state.declined() == [CLEAN]
    await state.record_vote(Vote("slack", "m", "U\x001", -1, DIRTY, "a", ["c\ud800"], 0.0))
    [vote] = await state.votes()
    assert (vote.user_id, vote.question, vote.chunk_ids) == ("U1", CLEAN, ["c\ufffd"])


async def test_a_record_the_store_refuses_is_an_error_not_an_outage(
    store: tuple[SqlStateStore, Clock],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the cleaning taken out, a lone surrogate is refused again (a DataError on
    PostgreSQL, an encoding error on SQLite): that one record is logged as an error naming the
    error's kind only, the store is not marked down, and the next record is stored."""
    from bot.state import StateRejected, StateUnavailable
    from bot.state.writer import TurnWriter

    state, clock = store
    monkeypatch.setattr("bot.state.sql.clean_text", lambda text: text)
    monkeypatch.setattr("bot.state.sql.clean_vote", lambda vote: vote)
    secret = "비밀\ud800번호 1234"
    with pytest.raises(StateRejected) as refused:
        await state.record_exchange("c1", "U1", "slack", secret, "a")
    assert not isinstance(refused.value, StateUnavailable)
    assert refused.value.__cause__ is None  # the original quotes the statement's parameters
    assert refused.value.__suppress_context__
    with pytest.raises(StateRejected):
        await state.record_vote(Vote("slack", "m", "U1", -1, secret, "a", [], clock.now))
    writer = TurnWriter(state, turns=4, idle_s=600)
    writer.record("c1", "U1", "slack", secret, "a")
    await writer.flush()
    writer.record("c1", "U1", "slack", "다음 질문", "답")
    writer.note_state(reachable=True)  # would log "reachable again" had the store been marked down
    assert [t.question for t in await writer.recent("c1")] == ["다음 질문"]
    [error] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert error.levelno == logging.ERROR
    assert error.getMessage().startswith(
        "could not store the conversation turn: state store refused"
    )
    assert error.exc_info is None
    for raw in ("비밀", "1234", "[SQL"):
        assert raw not in caplog.text


async def test_a_value_too_long_for_its_column_is_refused_not_an_outage(
    store: tuple[SqlStateStore, Clock], caplog: pytest.LogCaptureFixture
) -> None:
    """A data error cleaning cannot prevent: user ids are VARCHAR(200), which PostgreSQL
    enforces (SQLite does not). The turn is lost and said so; the store is not marked down."""
    from bot.state.writer import TurnWriter

    state, _ = store
    if state.engine.dialect.name != "postgresql":
        pytest.skip("SQLite does not enforce VARCHAR lengths")
    writer = TurnWriter(state, turns=4, idle_s=600)
    writer.record("c1", "U" * 201, "slack", "질문", "답")
    await writer.flush()
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [m for m in messages if "unreachable" in m]
    assert messages == [
        "could not store the conversation turn: state store refused the record "
        "(StringDataRightTruncationError, SQLSTATE 22001)"
    ]
    writer.record("c1", "U1", "slack", "질문", "답")
    assert [t.question for t in await writer.recent("c1")] == ["질문"]

    from bot.state import StateRejected, StateUnavailable

    with pytest.raises(StateRejected) as refused:
        await state.record_exchange("c1", "U" * 201, "slack", "질문", "답")
    assert not isinstance(refused.value, StateUnavailable)


async def test_forgetting_the_asker_removes_the_votes_others_cast_on_their_answers(
    store: tuple[SqlStateStore, Clock],
) -> None:
    state, clock = store
    asked = "UA의 질문: 야간 수당?"
    await state.record_vote(Vote("slack", "m1", "UB", -1, asked, "a", [], clock.now, [], "UA"))
    await state.record_vote(Vote("slack", "m2", "UB", 1, "UC의 질문", "a", [], clock.now, [], "UC"))
    assert await state.forget_user("UA") == 1
    assert [v.question for v in await state.votes()] == ["UC의 질문"]
    assert [v.asker_id for v in await state.votes()] == ["UC"]


async def test_votes_have_a_retention_period(store: tuple[SqlStateStore, Clock]) -> None:
    state, clock = store
    await state.record_vote(Vote("slack", "m1", "U1", -1, "old", "a", [], clock.now))
    clock.now += 60 * 86400
    await state.record_vote(Vote("slack", "m2", "U1", -1, "new", "a", [], clock.now))
    clock.now += 40 * 86400  # the first is 100 days old, the second 40
    assert await state.purge(retention_days=30, vote_retention_days=90) == 1
    assert [v.question for v in await state.votes()] == ["new"]
    assert await state.purge(retention_days=30) == 0  # without a period votes are kept


async def test_memory_store_forgets_and_expires_votes_as_the_sql_store_does() -> None:
    clock = Clock()
    state = MemoryStateStore(clock=clock)
    await state.record_vote(Vote("slack", "m1", "UB", -1, "UA's", "a", [], clock.now, [], "UA"))
    await state.record_vote(Vote("slack", "m2", "UB", -1, "UC's", "a", [], clock.now, [], "UC"))
    assert await state.forget_user("UA") == 1
    clock.now += 100 * 86400
    assert await state.purge(retention_days=30, vote_retention_days=90) == 1
    assert await state.votes() == []
