"""Slack Web API faults on the answer path: 429s, 500s, 503s and dropped connections.

The production Web API client (`make_web_client`) talks to the fake Slack, which fails the
next calls of a method as asked (a 429 comes with a Retry-After header). A fault inside the
retry budget must cost only time: the client waits as long as it is told to or backs off,
the answer is posted exactly once and the progress reaction comes and goes. A fault beyond it
is logged with a reference the user is shown, and the next question is answered normally.
"""

from __future__ import annotations

import itertools
import logging
import re

import pytest
from slack_harness import BOT_USER, CHANNEL, Harness, command, event, slack_harness

from bot.chat.slack_replies import PROGRESS_REACTION
from bot.devtools.loopback.slack import Call, FakeSlack

#: slack_sdk's default backoff: 0.5 s * 2**retry, plus up to 1 s of jitter.
BACKOFF_FLOOR_S = 0.5
#: Attempts the production client makes on a 5xx or a dropped connection (1 + 2 retries).
ATTEMPTS = 3
#: The Retry-After (s) of the fake's 429s: the client sleeps that long, plus jitter, per retry.
RETRY_AFTER_S = 1
#: Attempts the production client makes on a 429 (1 + 3 retries).
RATE_LIMITED_ATTEMPTS = 4
REF = re.compile(r"\bref ([0-9a-f]{8})\b")


def fail(fake: FakeSlack, method: str, fault: str, times: int) -> None:
    """Queue `times` failures of `method`: an HTTP status ("429" with a Retry-After, "500",
    "503") or "drop"."""
    for _ in range(times):
        if fault == "drop":
            fake.fail_next(method, drop=True)
        elif fault == "429":
            fake.fail_next(method, status=429, headers={"Retry-After": str(RETRY_AFTER_S)})
        else:
            fake.fail_next(method, status=int(fault))


def budget(fault: str) -> int:
    """Attempts the production client makes on `fault` before it gives up."""
    return RATE_LIMITED_ATTEMPTS if fault == "429" else ATTEMPTS


def status_of(fault: str) -> int:
    """The status the fake records for a fault (0: no answer at all)."""
    return 0 if fault == "drop" else int(fault)


def attempts(fake: FakeSlack, method: str) -> list[Call]:
    return fake.calls_to(method, ok_only=False)


def in_thread(fake: FakeSlack, ts: str) -> list[Call]:
    """Messages Slack accepted in the thread of the user's message `ts`."""
    return [c for c in fake.calls_to("chat.postMessage") if c.args.get("thread_ts") == ts]


def is_answer(call: Call) -> bool:
    """An answer carries the feedback buttons; the apology does not."""
    return any(block["type"] == "actions" for block in call.args.get("blocks", []))


async def mention(h: Harness, ts: str, text: str) -> None:
    body = event("app_mention", event_id=f"Ev{ts.replace('.', '')}", ts=ts)
    body["event"]["text"] = f"<@{BOT_USER}> {text}"
    assert await h.send_event(body) == 200


def assert_backoff(tries: list[Call]) -> None:
    """Each retry came later than the try before by at least what the client had to wait:
    the Retry-After after a 429, otherwise the backoff for the retry's number."""
    for n, (before, after) in enumerate(itertools.pairwise(tries)):
        floor = RETRY_AFTER_S if before.status == 429 else BACKOFF_FLOOR_S * 2**n
        gap = after.at - before.at
        assert gap >= floor, f"retry {n + 1} came {gap:.2f} s after the last ({floor} s due)"


def assert_reaction_came_and_went(fake: FakeSlack, ts: str, answer: Call) -> None:
    [added] = fake.calls_to("reactions.add")
    [removed] = fake.calls_to("reactions.remove")
    for call in (added, removed):
        assert (call.args["timestamp"], call.args["name"]) == (ts, PROGRESS_REACTION)
    assert added.at < answer.at < removed.at


def logged_refs(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    """References of the ERROR records whose message contains `text`."""
    return [
        match.group(1)
        for record in caplog.records
        if record.levelno >= logging.ERROR and text in record.getMessage()
        if (match := REF.search(record.getMessage()))
    ]


def problems(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Errors from anyone (Bolt logs an exception that escaped a listener) and the bot's
    own warnings."""
    return [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR
        or (r.levelno >= logging.WARNING and r.name.startswith("bot."))
    ]


@pytest.mark.parametrize(
    ("fault", "times"),
    [
        ("429", 1),
        ("429", RATE_LIMITED_ATTEMPTS - 1),
        ("500", 1),
        ("500", 2),
        ("503", 1),
        ("503", 2),
        ("drop", 1),
        ("drop", 2),
    ],
    ids=[
        "429-once",
        "429-thrice",
        "500-once",
        "500-twice",
        "503-once",
        "503-twice",
        "drop-once",
        "drop-twice",
    ],
)
async def test_a_failed_answer_post_is_retried_with_backoff_and_posted_exactly_once(
    settings_factory, caplog: pytest.LogCaptureFixture, fault: str, times: int
) -> None:
    async with slack_harness(settings_factory) as h:
        fail(h.fake, "chat.postMessage", fault, times)
        ts = "1718000100.000100"
        with caplog.at_level(logging.WARNING, logger="bot.chat.slack_app"):
            await mention(h, ts, "콜센터 상담원은 어떤 능력이 있어야 하나요?")
            await h.answer_to(ts)
            await h.settle()

        tries = attempts(h.fake, "chat.postMessage")
        assert [c.status for c in tries] == [status_of(fault)] * times + [200]
        assert_backoff(tries)
        [answer] = in_thread(h.fake, ts)
        assert is_answer(answer)
        assert_reaction_came_and_went(h.fake, ts, answer)
        assert not problems(caplog)


@pytest.mark.parametrize(
    ("fault", "outage", "apology_posted"),
    [
        ("500", ATTEMPTS, True),
        ("500", 2 * ATTEMPTS, False),
        ("429", RATE_LIMITED_ATTEMPTS, True),
    ],
    ids=["500-answer-lost", "500-answer-and-apology-lost", "429-answer-lost"],
)
async def test_an_outage_beyond_the_retry_budget_is_logged_with_a_ref_and_the_bot_recovers(
    settings_factory,
    caplog: pytest.LogCaptureFixture,
    fault: str,
    outage: int,
    apology_posted: bool,
) -> None:
    async with slack_harness(settings_factory) as h:
        fail(h.fake, "chat.postMessage", fault, outage)
        ts = "1718000200.000100"
        with caplog.at_level(logging.WARNING, logger="bot.chat.slack_app"):
            await mention(h, ts, "상담원의 월급은 보통 얼마인가요?")
            await h.settle()

        [ref] = logged_refs(caplog, "answering failed")
        failed = [r for r in caplog.records if "answering failed" in r.getMessage()]
        assert failed[0].exc_info is not None  # the Slack error is in the log, with its cause
        tries = attempts(h.fake, "chat.postMessage")
        assert [c.status for c in tries] == [status_of(fault)] * outage + [200] * apology_posted
        assert_backoff(tries[: budget(fault)])
        posted = in_thread(h.fake, ts)
        assert not any(is_answer(c) for c in posted), "the answer must not appear later"
        if apology_posted:
            [apology] = posted
            assert ref in apology.args["text"]
        else:
            assert posted == []
            assert logged_refs(caplog, "could not post the apology either") == [ref]
        # The progress reaction is taken away even though nothing could be posted.
        assert len(h.fake.calls_to("reactions.remove")) == 1

        # Slack is back: the next question is answered, once, with nothing left over.
        later = "1718000260.000100"
        await mention(h, later, "What does a team leader do in a call center?")
        answer = await h.answer_to(later)
        await h.settle()
        assert is_answer(answer)
        assert in_thread(h.fake, later) == [answer]
        assert len(in_thread(h.fake, ts)) == int(apology_posted)


@pytest.mark.parametrize(
    ("method", "fault", "times"),
    [
        ("reactions.add", "500", 1),
        ("reactions.add", "500", ATTEMPTS),
        ("reactions.add", "drop", ATTEMPTS),
        ("reactions.remove", "500", ATTEMPTS),
        ("reactions.remove", "drop", ATTEMPTS),
    ],
    ids=[
        "add-500-once",
        "add-500-down",
        "add-unreachable",
        "remove-500-down",
        "remove-unreachable",
    ],
)
async def test_a_failing_progress_reaction_never_costs_the_answer(
    settings_factory, caplog: pytest.LogCaptureFixture, method: str, fault: str, times: int
) -> None:
    async with slack_harness(settings_factory) as h:
        fail(h.fake, method, fault, times)
        ts = "1718000300.000100"
        with caplog.at_level(logging.WARNING, logger="bot.chat.slack_app"):
            await mention(h, ts, "콜센터 일의 좋은 점과 힘든 점은?")
            await h.answer_to(ts)
            await h.settle()

        [answer] = in_thread(h.fake, ts)
        assert is_answer(answer)
        tries = attempts(h.fake, method)
        assert [c.status for c in tries] == [status_of(fault)] * times + [200] * (times < ATTEMPTS)
        assert_backoff(tries)
        if method == "reactions.add" and times == ATTEMPTS:
            # No reaction was added, so none is removed.
            assert attempts(h.fake, "reactions.remove") == []
        elif times < ATTEMPTS:
            assert_reaction_came_and_went(h.fake, ts, answer)
        assert not problems(caplog)  # cosmetic: no error, no apology

        later = "1718000360.000100"
        await mention(h, later, "팀 리더와 매니저는 무엇이 다른가요?")
        await h.answer_to(later)
        await h.settle()
        assert len(in_thread(h.fake, later)) == 1


@pytest.mark.parametrize(
    ("fault", "times"),
    [("500", 1), ("500", ATTEMPTS), ("429", 1)],
    ids=["500-once", "500-down", "429-once"],
)
async def test_a_career_command_whose_update_fails_is_retried_or_apologised_for(
    settings_factory, caplog: pytest.LogCaptureFixture, fault: str, times: int
) -> None:
    async with slack_harness(settings_factory) as h:
        fail(h.fake, "chat.update", fault, times)
        with caplog.at_level(logging.WARNING, logger="bot.chat.slack_app"):
            assert (await h.send_command(command("콜센터에서 일하면 스트레스가 많나요?")))[0] == 200
            await h.fake.wait_for("chat.update")
            await h.settle()

        [status] = h.fake.calls_to("chat.postMessage")  # the "working…" message, posted once
        message = h.fake.messages[(CHANNEL, status.result["ts"])]
        tries = attempts(h.fake, "chat.update")
        assert_backoff(tries[: budget(fault)])
        if times < budget(fault):
            assert [c.status for c in tries] == [status_of(fault)] * times + [200]
            assert any(b["type"] == "actions" for b in message["blocks"])  # the answer
            assert not problems(caplog)
        else:
            # The answer never got through; the apology replaces "working…" instead.
            assert [c.status for c in tries] == [status_of(fault)] * budget(fault) + [200]
            [ref] = logged_refs(caplog, "/career failed")
            assert ref in message["text"]
            assert not any(b["type"] == "actions" for b in message["blocks"])


async def test_file_upload_calls_failing_with_500_are_retried_and_the_picture_arrives_once(
    settings_factory, caplog: pytest.LogCaptureFixture
) -> None:
    async with slack_harness(settings_factory) as h:
        fail(h.fake, "files.getUploadURLExternal", "500", 1)
        fail(h.fake, "files.completeUploadExternal", "503", 1)
        ts = "1718000400.000100"
        with caplog.at_level(logging.WARNING, logger="bot.chat.slack_app"):
            await mention(h, ts, "상담원에서 고객 서비스 디렉터까지 어떻게 올라가나요?")
            answer = await h.answer_to(ts)
            await h.fake.wait_for("files.completeUploadExternal")
            await h.settle()

        assert in_thread(h.fake, ts) == [answer]
        for method, status in (
            ("files.getUploadURLExternal", 500),
            ("files.completeUploadExternal", 503),
        ):
            tries = attempts(h.fake, method)
            assert [c.status for c in tries] == [status, 200]
            assert_backoff(tries)
        shared = [u for u in h.fake.uploads.values() if u.get("thread_ts") == ts]
        assert len(shared) == 1, "the picture is shared once"
        assert shared[0]["data"]
        assert not problems(caplog)
