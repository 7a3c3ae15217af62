"""Two `career-bot slack --http` processes sharing one Chroma server and one PostgreSQL.

Slack's retry of every question goes to the other replica, and a thread's messages alternate
between them: each question and follow-up must be answered exactly once, and follow-ups must
be about the thread's role, which only the shared store can tell the other replica.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest

from bot.chat.slack_blocks import escape_mrkdwn
from bot.devtools.loopback.slack_load import CHANNEL, LoadReport, SentMessage, peak_rss_mb, run_load
from tests.replicas.questions import FOLLOW_UPS, LoadQuestion, career_questions
from tests.replicas.replica_harness import (
    NEEDS_POSTGRES,
    SIGNING_SECRET,
    IndexServer,
    PrivatePostgres,
    Replicas,
    slack_replicas,
)

pytestmark = [pytest.mark.slow, NEEDS_POSTGRES]

_SOURCE_LINE = re.compile(r"^(?:\[\d+\])+ (.+)$")
#: A source line ends with its document's date when it has one: "[1] title — section (2024-05)".
_DATED = re.compile(r" \(\d{4}[-\d]*\)$")


def cited_sections(message: SentMessage) -> set[str]:
    """The document sections an answer's sources block names ("[1] title — section (date)")."""
    sections = set()
    for call in message.answers[0] if message.answers else []:
        for block in call.args.get("blocks") or []:
            if block.get("type") != "context":
                continue
            for element in block.get("elements") or []:
                for line in str(element.get("text", "")).splitlines():
                    match = _SOURCE_LINE.match(_DATED.sub("", line))
                    if match and " — " in match.group(1):
                        sections.add(match.group(1).split(" — ", 1)[1].split(" > ")[-1])
    return sections


def threads(report: LoadReport) -> dict[int, list[SentMessage]]:
    """Each conversation's messages, question first."""
    by_question: dict[int, list[SentMessage]] = {}
    for message in report.messages:
        by_question.setdefault(message.question, []).append(message)
    return by_question


def check_follow_ups_resolve(
    report: LoadReport, asked: list[LoadQuestion], cold: dict[str, set[str]]
) -> tuple[int, int, int]:
    """Assert every follow-up cites its thread's role section when the question did.

    Returns (threads checked, follow-ups checked, checks the same follow-up asked cold
    would fail): the last shows the check tells a resolved follow-up from an unresolved one.
    """
    checked = follow_ups = telling = 0
    for n, thread in threads(report).items():
        question, replies = thread[0], thread[1:]
        section = escape_mrkdwn(asked[n].section)
        if section not in cited_sections(question):
            continue  # answered from another section (the coach's is kept under the trainer's)
        checked += 1
        for follow in replies:
            assert section in cited_sections(follow), (
                f"{follow.text!r} after {question.text!r} is not about {asked[n].role}: "
                f"{follow.answer_text[:300]}"
            )
            follow_ups += 1
            telling += section not in cold[follow.text]
    return checked, follow_ups, telling


def print_figures(label: str, report: LoadReport) -> None:
    follow = sorted(report.follow_up_latencies_ms)
    follow_p50 = follow[len(follow) // 2] if follow else float("nan")
    print(
        f"\n{label}: {len(report.answers_per_question)} questions + "
        f"{len(report.answers_per_follow_up)} follow-ups in {report.seconds:.1f} s, "
        f"question latency p50 {report.p50_ms:.0f} ms, p95 {report.p95_ms:.0f} ms, "
        f"follow-up p50 {follow_p50:.0f} ms, {report.answers_per_s:.1f} answers/s, "
        f"duplicates {report.duplicates}, missing {report.missing}"
    )


def assert_exactly_once(report: LoadReport) -> None:
    assert report.rejected == 0, "a replica refused a signed delivery"
    assert report.missing == 0, [m.text for m in report.messages if not m.answers]
    assert report.duplicates == 0, [m.text for m in report.messages if len(m.answers) > 1]
    assert set(report.answers_per_question) == {1}
    if report.answers_per_follow_up:
        assert set(report.answers_per_follow_up) == {1}


async def cold_answers(replicas: Replicas) -> dict[str, set[str]]:
    """What each follow-up cites when asked with no conversation (a fresh thread)."""
    report = await run_load(
        replicas.fake, replicas.urls, list(FOLLOW_UPS), signing_secret=SIGNING_SECRET
    )
    assert_exactly_once(report)
    return {m.text: cited_sections(m) for m in report.messages}


async def test_two_replicas_answer_every_question_and_follow_up_exactly_once(
    index_server: IndexServer, postgres_database: str, tmp_path: Path
) -> None:
    asked = career_questions(100)
    async with slack_replicas(index_server, postgres_database, tmp_path) as replicas:
        cold = await cold_answers(replicas)
        report = await run_load(
            replicas.fake,
            replicas.urls,
            [q.text for q in asked],
            signing_secret=SIGNING_SECRET,
            concurrency=20,
            retry_to_other=True,
            follow_ups=FOLLOW_UPS,
            timeout_s=300,
        )
        rss = [peak_rss_mb(proc.pid) for proc in replicas.procs]
    print_figures("two replicas, retries to the other, threads alternating", report)
    print(f"replica peak RSS: {', '.join(f'{mb:.0f} MB' for mb in rss)}")
    assert len(report.answers_per_question) == 100
    assert len(report.answers_per_follow_up) == 100 * len(FOLLOW_UPS)
    assert_exactly_once(report)
    # Every retry was delivered and acknowledged, so exactly-once is the claims' doing.
    assert all(len(m.statuses) == 2 for m in report.messages)
    checked, follow_ups, telling = check_follow_ups_resolve(report, asked, cold)
    print(f"follow-ups checked {follow_ups} in {checked} threads; {telling} tell resolution")
    assert checked >= 85
    assert telling >= 0.8 * follow_ups  # the check fails for an unresolved follow-up


def answers_in_channel(replicas: Replicas) -> list[float]:
    """Arrival times of every answer posted in the load channel so far."""
    return [
        c.at for c in replicas.fake.calls_to("chat.postMessage") if c.args.get("channel") == CHANNEL
    ]


async def wait_answers(replicas: Replicas, count: int, after: float, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while sum(1 for at in answers_in_channel(replicas) if at >= after) < count:
        assert time.monotonic() < deadline, f"fewer than {count} answers within {within_s} s"
        await asyncio.sleep(0.05)


async def test_answers_keep_coming_while_postgres_is_down_and_memory_returns_after(
    index_server: IndexServer, private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    asked = career_questions(80)
    texts = [q.text for q in asked]
    async with slack_replicas(index_server, private_postgres.url, tmp_path) as replicas:
        cold = await cold_answers(replicas)
        before = await run_load(
            replicas.fake,
            replicas.urls,
            texts[:10],
            signing_secret=SIGNING_SECRET,
            retry_to_other=True,
            follow_ups=FOLLOW_UPS[:1],
        )
        # PostgreSQL stops and starts again in the middle of this run, which sends no retries:
        # with the claim store down both replicas would answer a retry (they fail open so
        # questions are still answered), the documented trade-off of an outage.
        started = time.perf_counter()
        during_task = asyncio.create_task(
            run_load(
                replicas.fake,
                replicas.urls,
                texts[10:60],
                signing_secret=SIGNING_SECRET,
                concurrency=2,
            )
        )
        await wait_answers(replicas, 5, started, within_s=120)
        await asyncio.to_thread(private_postgres.stop, "fast")
        down_at = time.perf_counter()
        await wait_answers(replicas, 15, down_at, within_s=120)
        up_at = time.perf_counter()
        await asyncio.to_thread(private_postgres.start)
        during = await during_task
        after = await run_load(
            replicas.fake,
            replicas.urls,
            texts[60:],
            signing_secret=SIGNING_SECRET,
            retry_to_other=True,
            follow_ups=FOLLOW_UPS,
        )
        unreachable = [replicas.log_lines(n, "state store unreachable") for n in range(2)]
        recovered = [replicas.log_lines(n, "state store reachable again") for n in range(2)]
        errors = [replicas.log_lines(n, " ERROR ") for n in range(2)]
    first_posts = [(m, m.answers[0][0].at) for m in during.messages if m.answers]
    while_down = [m for m, at in first_posts if down_at <= at <= up_at]
    print_figures("before the outage", before)
    print_figures("PostgreSQL stopped and started mid-run", during)
    print_figures("after the restart", after)
    print(f"answers while PostgreSQL was down ({up_at - down_at:.1f} s): {len(while_down)}")
    for report in (before, during, after):
        assert_exactly_once(report)
    # Answers kept coming while it was down, and they are ordinary answers with sources
    # (no apology, nothing about the store); the run went on after the restart.
    assert len(while_down) >= 15
    assert all(cited_sections(m) for m in during.messages), [
        m.answer_text[:200] for m in during.messages if not cited_sections(m)
    ]
    assert any(at > up_at for _, at in first_posts)
    # One clear warning per replica for the outage and one when it is over; no error noise.
    assert [len(lines) for lines in unreachable] == [1, 1], unreachable
    assert [len(lines) for lines in recovered] == [1, 1], recovered
    assert errors == [[], []], errors
    # Claims and memory work again: retries were not answered twice (above), and follow-ups
    # after the restart are about the thread's role on whichever replica gets them.
    assert check_follow_ups_resolve(before, asked[:10], cold)[0] >= 8
    assert check_follow_ups_resolve(after, asked[60:], cold)[0] >= 16
