"""`/career`: questions, help and the admins' re-ingest, over signed HTTP to the real app."""

from __future__ import annotations

import re
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from slack_harness import (
    ASKER,
    BOT_USER,
    CHANNEL,
    MENTION_TS,
    block_texts,
    command,
    event,
    slack_harness,
)

import ingest
from bot.devtools.loopback.slack_load import shown_text
from core.settings import Settings

PING = re.compile(r"<!|@(channel|here|everyone)\b", re.IGNORECASE)
ADMIN = "U0ADMIN01"


def reply_text(body: object) -> str:
    """An ack's message: Bolt sends a text-only ack as plain text (Slack shows it privately)."""
    return body if isinstance(body, str) else str(body["text"])  # type: ignore[index]


async def test_question_posts_a_status_then_updates_it_with_the_answer(settings_factory) -> None:
    async with slack_harness(settings_factory) as h:
        started = time.perf_counter()
        status, body = await h.send_command(command("팀 리더는 어떤 일을 하나요?"))
        acked_ms = (time.perf_counter() - started) * 1000
        assert status == 200
        assert body == ""  # a bare ack: the answer comes in the channel
        assert acked_ms < 3000

        [update] = await h.fake.wait_for("chat.update")
        [posted] = h.fake.calls_to("chat.postMessage")
        assert posted.args["channel"] == CHANNEL
        assert "thread_ts" not in posted.args
        assert "찾아보는 중" in shown_text(posted)
        assert update.args["ts"] == posted.result["ts"]
        header = block_texts(update.args["blocks"], "context")[0]
        assert header == f"<@{ASKER}> 님의 질문: 팀 리더는 어떤 일을 하나요?"
        kinds = [b["type"] for b in update.args["blocks"]]
        assert kinds[:2] == ["context", "section"]
        assert kinds[-2:] == ["context", "actions"]
        assert "팀 리더" in update.args["text"]
        assert "찾아보는 중" not in shown_text(update)

        # A reply in the answer's thread continues that conversation.
        answer_ts = posted.result["ts"]
        follow_up = event(
            "message_thread_reply", thread_ts=answer_ts, ts="1718000070.000100", event_id="Ev0CMD2"
        )
        await h.send_event(follow_up)
        reply = (await h.fake.wait_for("chat.postMessage", 2))[1]
        assert reply.args["thread_ts"] == answer_ts
        assert "업무 및 서비스 지식" in reply.args["text"] or "멀티태스킹" in reply.args["text"]


async def test_help_is_an_immediate_private_reply(settings_factory) -> None:
    async with slack_harness(settings_factory) as h:
        for text in ("help", ""):
            status, body = await h.send_command(command(text))
            assert status == 200
            assert "콜센터 경력 도우미" in reply_text(body)
            assert "call-center career advisor" in reply_text(body)
        await h.settle()
        assert h.fake.calls_to("chat.postMessage") == []


async def test_unknown_words_are_just_a_question(settings_factory) -> None:
    async with slack_harness(settings_factory) as h:
        await h.send_command(command("skills 상담원에게 필요한 기술"))
        [update] = await h.fake.wait_for("chat.update")
        assert block_texts(update.args["blocks"], "context")[-1].startswith("*출처*")


async def test_echoed_question_cannot_ping_anyone(settings_factory) -> None:
    async with slack_harness(settings_factory) as h:
        text = "<!channel> 콜센터 급여는 어떻게 되나요? @everyone <@U0OTHER9> <!subteam^S0G1|@ops>"
        await h.send_command(command(text))
        [update] = await h.fake.wait_for("chat.update")
        for call in (*h.fake.calls_to("chat.postMessage"), update):
            shown = shown_text(call)
            assert not PING.search(shown), shown
            assert set(re.findall(r"<@\w+>", shown)) == {f"<@{ASKER}>"}  # the asker, by us
        header = block_texts(update.args["blocks"], "context")[0]
        assert "@\u200dchannel" in header  # shown, but inert
        assert "@U0OTHER9" in header


async def test_channel_without_the_bot_falls_back_to_the_response_url(settings_factory) -> None:
    async with slack_harness(settings_factory) as h:
        h.fake.not_in_channel.add("C0PRIVATE1")
        await h.send_command(command("팀 리더는 어떤 일을 하나요?", channel_id="C0PRIVATE1"))
        [answer] = await h.fake.wait_for("response_url")
        await h.settle()
        assert answer.args["response_type"] == "in_channel"
        assert block_texts(answer.args["blocks"], "context")[-1].startswith("*출처*")
        assert h.fake.calls_to("chat.update") == []


def copy_index(index_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A private DATA_DIR and knowledge dir, one document changed, so re-ingest has work."""
    data = tmp_path / "data"
    knowledge = tmp_path / "knowledge"
    shutil.copytree(index_dir, data, ignore=shutil.ignore_patterns("state.sqlite3*"))
    shutil.copytree(Path(__file__).resolve().parents[4] / "knowledge", knowledge)
    doc = knowledge / "working-in-a-call-center.txt"
    doc.write_text(
        doc.read_text(encoding="utf-8")
        + "\n\n교육 일정\n신입 상담원 교육은 2주 동안 진행됩니다.\n",
        encoding="utf-8",
    )
    return data, knowledge


async def test_reingest_is_for_admins_and_runs_in_the_background(
    index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, knowledge = copy_index(index_dir, tmp_path)
    # The re-ingest waits until the question below is answered, so "answered meanwhile" does
    # not depend on which of the two is faster on a busy machine.
    answered = threading.Event()
    real_run_ingest = ingest.run_ingest

    def run_ingest_after_the_answer(*args: Any, **kwargs: Any) -> Any:
        answered.wait(30)
        return real_run_ingest(*args, **kwargs)

    monkeypatch.setattr(ingest, "run_ingest", run_ingest_after_the_answer)

    def private_settings(**values: Any) -> Settings:
        """Its own DATA_DIR and documents: the session index stays untouched."""
        return Settings(  # type: ignore[call-arg]
            _env_file=None,
            data_dir=data,
            knowledge_dir=knowledge,
            state_url=f"sqlite+aiosqlite:///{tmp_path / 'state.sqlite3'}",
            slack_admin_user_ids=[ADMIN],
            **values,
        )

    async with slack_harness(private_settings) as h:
        # Not an admin: an ephemeral refusal, nothing runs.
        status, refused = await h.send_command(command("reingest"))
        assert status == 200
        assert "관리자" in reply_text(refused)
        assert not h.bot.chat.reingest_running

        status, started = await h.send_command(command("reingest", user_id=ADMIN))
        assert "재색인을 시작" in reply_text(started)
        status, busy = await h.send_command(command("reingest", user_id=ADMIN))
        assert "재색인이 진행 중" in reply_text(busy)

        # Questions keep being answered from the old index meanwhile.
        await h.send_event(event("app_mention"))
        answer = await h.answer_to(MENTION_TS)
        assert h.bot.chat.reingest_running
        answered.set()

        [report] = await h.fake.wait_for(
            "chat.postMessage",
            where=lambda c: "문서 재색인이 끝났어요" in c.args["text"],
            within_s=60,
        )
        assert answer.at < report.at
        assert report.args["channel"] == CHANNEL
        assert "1 updated" in report.args["text"]
        assert "2 documents" in report.args["text"]
        await h.settle()
        assert not h.bot.chat.reingest_running

        # The new section is searchable now.
        await h.send_event(
            event(
                "app_mention",
                ts="1718000999.000100",
                event_id="Ev0AFTER1",
                text=f"<@{BOT_USER}> 신입 상담원 교육은 몇 주 동안 진행되나요?",
            )
        )
        after = await h.answer_to("1718000999.000100")
        assert "2주" in after.args["text"]


async def test_report_is_private_to_admins_and_never_pings(settings_factory) -> None:
    async with slack_harness(settings_factory, slack_admin_user_ids=[ADMIN]) as h:
        state = h.bot.chat.advisor.memory.store
        for question in [
            "<!channel> 피자 맛집 @here 알려줘?",
            "<!channel> 피자 맛집 @here 알려줘?",
        ]:
            await state.record_exchange("c", "U9", "slack", question, None, abstained=True)
        await state.record_exchange("c", "U9", "slack", "주식 투자 방법?", None, abstained=True)

        status, refused = await h.send_command(command("report"))
        assert status == 200
        assert "관리자" in reply_text(refused)
        await h.settle()
        assert not [c for c in h.fake.calls if c.method == "response_url"]

        status, bad = await h.send_command(command("report soon", user_id=ADMIN))
        assert "soon" in reply_text(bad)
        # A question that starts with the word is a question, for admins and everyone else.
        for asker in (ADMIN, ASKER):
            status, body = await h.send_command(
                command("보고서 잘 쓰는 법 알려줘", user_id=asker, trigger_id=f"report-q-{asker}")
            )
            assert (status, body) == (200, "")
        questions = await h.fake.wait_for("chat.postMessage", count=2)
        assert all("보고서 잘 쓰는 법" in shown_text(c) for c in questions)
        await h.fake.wait_for("chat.update", count=2)  # both answered
        await h.settle()  # and done: nothing of theirs can arrive after the clear
        h.fake.calls.clear()

        status, body = await h.send_command(command("report 7d", user_id=ADMIN))
        assert status == 200
        assert body == ""  # a bare ack; the report follows through the response_url
        [delivered] = await h.fake.wait_for("response_url")
        assert delivered.args["response_type"] == "ephemeral"
        text = delivered.args["text"]
        assert "3 declined" in text
        assert "피자 맛집" in text
        assert text.index("피자 맛집") < text.index("주식 투자")  # the most frequent first
        shown = " ".join(block_texts(delivered.args["blocks"], "section"))
        assert not PING.search(text)
        assert not PING.search(shown)
        # Nothing went to the channel.
        assert not [c for c in h.fake.calls if c.method == "chat.postMessage"]
