"""Career-path answers on Slack: the text in the thread, the ladder picture uploaded next to it
with files upload v2 (getUploadURLExternal, POST to the upload URL, completeUploadExternal)."""

from __future__ import annotations

from slack_harness import BOT_USER, CHANNEL, block_texts, event, slack_harness

from bot.devtools.loopback.slack import FakeSlack

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _uploaded(fake: FakeSlack) -> list[dict]:
    return [u for u in fake.uploads.values() if u.get("data") is not None and "title" in u]


async def test_path_question_gets_text_and_picture_in_its_thread(settings_factory) -> None:
    async with slack_harness(settings_factory) as h:
        ts = "1718000000.000701"
        text = f"<@{BOT_USER}> 상담원에서 고객 서비스 디렉터가 되려면?"
        assert await h.send_event(event("app_mention", ts=ts, text=text)) == 200
        reply = await h.answer_to(ts)
        [complete] = await h.fake.wait_for("files.completeUploadExternal")
        await h.settle()

        answer = "\n".join(block_texts(reply.args["blocks"], "section"))
        assert "팀 리더" in answer
        assert "고객 서비스 디렉터" in answer
        assert "키울 기술" in answer
        assert "[1]" in answer
        [sources] = block_texts(reply.args["blocks"], "context")
        assert "팀 리더/매니저/감독" in sources

        # the three steps of files upload v2, in order, into the answer's thread
        methods = [c.method for c in h.fake.calls]
        get_url = methods.index("files.getUploadURLExternal")
        assert methods.index("chat.postMessage") < get_url < methods.index("upload")
        assert methods.index("upload") < methods.index("files.completeUploadExternal")
        assert complete.args["channel_id"] == CHANNEL
        assert complete.args["thread_ts"] == ts
        [upload] = _uploaded(h.fake)
        assert upload["data"].startswith(PNG_MAGIC)
        assert len(upload["data"]) == upload["length"] > 10_000
        assert upload["filename"] == "path-agent-to-customer-service-director.png"
        assert upload["channel_id"] == CHANNEL
        assert upload["thread_ts"] == ts


async def test_english_path_question_uploads_too(settings_factory) -> None:
    async with slack_harness(settings_factory) as h:
        ts = "1718000000.000702"
        text = f"<@{BOT_USER}> What comes after team leader?"
        await h.send_event(event("app_mention", ts=ts, text=text))
        reply = await h.answer_to(ts)
        await h.fake.wait_for("files.completeUploadExternal")
        await h.settle()
        answer = "\n".join(block_texts(reply.args["blocks"], "section"))
        assert "Call center manager" in answer
        assert "Skills to build" in answer
        [upload] = _uploaded(h.fake)
        assert upload["title"] == "Career path picture"
        assert upload["filename"] == "path-team-leader-to-call-center-manager.png"


async def test_other_questions_upload_nothing(settings_factory) -> None:
    async with slack_harness(settings_factory) as h:
        ts = "1718000000.000703"
        await h.send_event(
            event("app_mention", ts=ts, text=f"<@{BOT_USER}> 팀 리더는 무슨 일을 해?")
        )
        await h.answer_to(ts)
        await h.settle()
        assert not h.fake.calls_to("files.getUploadURLExternal", ok_only=False)


async def test_failed_upload_keeps_the_text_answer(settings_factory) -> None:
    async with slack_harness(settings_factory) as h:
        h.fake.fail_next("files.getUploadURLExternal", error="not_allowed_token_type")
        ts = "1718000000.000704"
        await h.send_event(event("app_mention", ts=ts, text=f"<@{BOT_USER}> 팀 리더 다음은 뭐야?"))
        reply = await h.answer_to(ts)
        await h.settle()
        assert "콜센터 매니저" in "\n".join(block_texts(reply.args["blocks"], "section"))
        # one reply, no apology after the failed upload
        assert len(h.fake.calls_to("chat.postMessage")) == 1
        assert not _uploaded(h.fake)
