"""Load on real `career-bot slack --http` replicas, delivered the way Slack delivers it.

`start_replica` runs one HTTP replica as a subprocess and waits for its health check;
`run_load` sends signed `app_mention` events (and optionally Slack's retry of each one to
another replica, and follow-ups in the thread alternating between replicas) and reads the
answers off a `FakeSlack`, which records when each `chat.postMessage` arrived. The replica
tests and `career-bot bench` both use it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import aiohttp

from bot.chat.outcomes import Feedback
from bot.chat.slack_blocks import MAX_BLOCKS
from bot.devtools.loopback.processes import bot_command, wait_http
from bot.devtools.loopback.slack import Call, FakeSlack, sign

#: The channel every load conversation happens in.
CHANNEL = "C0LOAD001"
#: Unique message timestamps across every run in this process (Slack's "ts" strings).
_SEQ = itertools.count(1)
_TS_BASE = int(time.time()) - 86_400  # below the fake's own ts, which use the current time


# -- replicas ------------------------------------------------------------------------------


def start_replica(
    env: dict[str, str],
    port: int,
    log: Path,
    *,
    timeout_s: float = 90.0,
) -> subprocess.Popen[bytes]:
    """Start `career-bot slack --http --host 127.0.0.1 --port PORT` and wait for GET /healthz.

    `env` is added to this process's environment; stdout and stderr go to `log`. The process
    runs in the log's folder so no developer `.env` is read by accident.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [*bot_command(), "slack", "--http", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            command,
            env={**os.environ, **env},
            cwd=log.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout_s, proc)
    except Exception as exc:
        stop_replica(proc)
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"replica on port {port} did not become healthy: {exc}\n{tail}") from exc
    return proc


def stop_replica(proc: subprocess.Popen[bytes], timeout_s: float = 20.0) -> int:
    """Stop a replica gracefully (SIGINT: in-flight answers drain), SIGKILL if it hangs."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


def peak_rss_mb(pid: int) -> float:
    """A live process's peak resident memory (VmHWM) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


# -- the report ----------------------------------------------------------------------------


@dataclass
class SentMessage:
    """One user message of the load and the bot's answers to it."""

    question: int  # index of the conversation (its question) in the run
    kind: Literal["question", "follow_up"]
    text: str
    ts: str
    thread_ts: str
    endpoint: str
    retry_endpoint: str | None = None
    sent_at: float | None = None  # perf_counter() just before the first POST
    statuses: list[int] = field(default_factory=list)  # HTTP status of each POST
    #: Each answer is the list of chat.postMessage calls that carry it (one unless it had to
    #: be split over several messages).
    answers: list[list[Call]] = field(default_factory=list)

    @property
    def latency_ms(self) -> float | None:
        if self.sent_at is None or not self.answers:
            return None
        return (self.answers[0][0].at - self.sent_at) * 1000

    @property
    def answer_text(self) -> str:
        """What the first answer shows: its text and every text object in its blocks."""
        return "\n".join(shown_text(call) for call in self.answers[0]) if self.answers else ""


@dataclass
class LoadReport:
    messages: list[SentMessage]
    seconds: float
    latencies_ms: list[float]  # per answered question: first POST to first answer
    follow_up_latencies_ms: list[float]
    answers_per_question: list[int]
    answers_per_follow_up: list[int]
    duplicates: int  # answers beyond the first, over all messages
    missing: int  # messages never answered (follow-ups of an unanswered question included)
    rejected: int  # POSTs the replicas did not acknowledge with 200
    p50_ms: float
    p95_ms: float
    answers_per_s: float


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def shown_text(call: Call) -> str:
    """A posted message as a person sees it: its text and its blocks' text objects."""
    seen = [str(call.args.get("text", ""))]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
                seen.append(node["text"])
            for key, value in node.items():
                if key != "value":
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(call.args.get("blocks") or [])
    return "\n".join(seen)


def _rated_question(call: Call) -> str | None:
    """The question a posted answer's feedback buttons carry (rated answers only)."""
    for block in call.args.get("blocks") or []:
        if block.get("type") == "actions":
            for element in block.get("elements") or []:
                if "value" in element:
                    return Feedback.unpack(element["value"]).question
    return None


def _continues(previous: Call | None) -> bool:
    """Is the next post in a thread the rest of `previous`? The bot splits an answer only when
    it needs more than MAX_BLOCKS blocks: every part but the last is that full and carries no
    sources or buttons (they close the last part)."""
    if previous is None:
        return False
    blocks = previous.args.get("blocks") or []
    closing = any(b.get("type") in ("context", "actions") for b in blocks)
    return not closing and len(blocks) >= MAX_BLOCKS - 2


class _Threads:
    """Attributes the bot's posts to the messages they answer, as the posts arrive."""

    def __init__(self, fake: FakeSlack, channel: str) -> None:
        self.fake = fake
        self.channel = channel
        self.by_thread: dict[str, list[SentMessage]] = {}
        self.last_post: dict[str, Call] = {}
        self.last_owner: dict[str, SentMessage] = {}
        self.events: dict[str, asyncio.Event] = {}
        self._cursor = 0

    def add(self, message: SentMessage) -> asyncio.Event:
        self.by_thread.setdefault(message.thread_ts, []).append(message)
        event = self.events[message.ts] = asyncio.Event()
        return event

    def _owner(self, call: Call, thread: list[SentMessage]) -> SentMessage | None:
        sent = [m for m in thread if m.sent_at is not None and m.sent_at <= call.at]
        asked = _rated_question(call)
        if asked is not None:
            matching = [m for m in sent if m.text.strip() == asked.strip()]
            if matching:
                return matching[-1]
        # Unrated replies (an apology, help): the latest message sent in the thread before it
        # (a thread's messages are sent one after another, each after the previous answer).
        return sent[-1] if sent else None

    def scan(self) -> None:
        calls = self.fake.calls
        new, self._cursor = calls[self._cursor :], len(calls)
        for call in new:
            if call.method != "chat.postMessage" or call.status != 200 or not call.ok:
                continue
            if call.args.get("channel") != self.channel:
                continue
            root = str(call.args.get("thread_ts") or "")
            thread = self.by_thread.get(root)
            if thread is None:
                continue
            previous = self.last_post.get(root)
            self.last_post[root] = call
            if _continues(previous) and root in self.last_owner:
                self.last_owner[root].answers[-1].append(call)
                continue
            owner = self._owner(call, thread)
            if owner is None:
                continue
            owner.answers.append([call])
            self.last_owner[root] = owner
            self.events[owner.ts].set()


# -- the load ------------------------------------------------------------------------------


def _envelope(fake: FakeSlack, event: dict[str, Any], event_id: str) -> dict[str, Any]:
    return {
        "token": "loopback",
        "team_id": fake.team_id,
        "context_team_id": fake.team_id,
        "api_app_id": "A0APP001",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": fake.team_id,
                "user_id": fake.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }


async def run_load(
    fake: FakeSlack,
    endpoints: list[str],
    questions: list[str],
    *,
    signing_secret: str,
    concurrency: int = 20,
    retry_to_other: bool = False,
    follow_ups: Sequence[str] = (),
    timeout_s: float = 120.0,
    idle_within_s: float = 60.0,
) -> LoadReport:
    """Ask `questions` of the replicas at `endpoints` (base URLs, `http://127.0.0.1:PORT`).

    Question i is a signed `app_mention` from its own user (so rate limits stay out of the
    way) to endpoints[i % n]. With `retry_to_other`, Slack's retry of the same event
    (`X-Slack-Retry-Num: 1`) goes to the next endpoint 0-150 ms later. Each follow-up is a
    reply in the question's thread without a mention, sent once the previous message was
    answered, to the endpoint after the previous message's: a thread's messages alternate
    between replicas. At most `concurrency` conversations are in flight at once (a question
    and its follow-ups). After the last delivery, the run waits until every replica says
    it has nothing in hand (`in_flight` 0 in GET /healthz, `idle_within_s` at most), so a
    duplicate answer, however late, is counted. Nothing raises for a missing answer: the
    report counts it.
    """
    if not endpoints:
        raise ValueError("run_load needs at least one endpoint")
    run = secrets.token_hex(3).upper()
    threads = _Threads(fake, CHANNEL)
    messages: list[SentMessage] = []
    gate = asyncio.Semaphore(max(1, concurrency))
    started = time.perf_counter()
    deadline = started + timeout_s
    retries: list[asyncio.Task[None]] = []
    n = len(endpoints)

    def new_message(i: int, k: int, text: str, root: str | None) -> SentMessage:
        ts = f"{_TS_BASE}.{next(_SEQ):06d}"
        kind: Literal["question", "follow_up"] = "question" if root is None else "follow_up"
        message = SentMessage(
            question=i,
            kind=kind,
            text=text,
            ts=ts,
            thread_ts=root or ts,
            endpoint=endpoints[(i + k) % n],
            retry_endpoint=endpoints[(i + k + 1) % n] if retry_to_other and n > 1 else None,
        )
        messages.append(message)
        return message

    async def post(session: aiohttp.ClientSession, url: str, body: str, retry: bool) -> int:
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": sign(signing_secret, stamp, body),
        }
        if retry:
            headers |= {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
        try:
            async with session.post(
                f"{url.rstrip('/')}/slack/events", data=body.encode(), headers=headers
            ) as resp:
                await resp.read()
                return resp.status
        except (TimeoutError, aiohttp.ClientError, OSError):
            return 0

    async def retry(
        session: aiohttp.ClientSession, message: SentMessage, body: str, delay: float
    ) -> None:
        await asyncio.sleep(delay)
        assert message.retry_endpoint is not None
        message.statuses.append(await post(session, message.retry_endpoint, body, True))

    async def deliver(
        session: aiohttp.ClientSession, message: SentMessage, event: dict[str, Any], delay: float
    ) -> bool:
        body = json.dumps(
            _envelope(fake, event, f"Ev{run}{message.ts.replace('.', '')}"), ensure_ascii=False
        )
        answered = threads.add(message)
        message.sent_at = time.perf_counter()
        message.statuses.append(await post(session, message.endpoint, body, False))
        if message.retry_endpoint is not None:
            retries.append(asyncio.create_task(retry(session, message, body, delay)))
        try:
            await asyncio.wait_for(answered.wait(), max(0.0, deadline - time.perf_counter()))
        except TimeoutError:
            return False
        return True

    async def conversation(session: aiohttp.ClientSession, i: int, text: str) -> None:
        user = f"U{run}{i:05d}"
        async with gate:
            question = new_message(i, 0, text, None)
            event = {
                "type": "app_mention",
                "user": user,
                "text": f"<@{fake.bot_user_id}> {text}",
                "ts": question.ts,
                "team": fake.team_id,
                "channel": CHANNEL,
                "event_ts": question.ts,
            }
            if not await deliver(session, question, event, 0.05 * (i % 4)):
                for k, reply in enumerate(follow_ups, start=1):
                    new_message(i, k, reply, question.ts)  # never sent: counted missing
                return
            for k, reply in enumerate(follow_ups, start=1):
                follow = new_message(i, k, reply, question.ts)
                event = {
                    "type": "message",
                    "user": user,
                    "text": reply,
                    "ts": follow.ts,
                    "thread_ts": question.ts,
                    "parent_user_id": user,
                    "team": fake.team_id,
                    "channel": CHANNEL,
                    "event_ts": follow.ts,
                    "channel_type": "channel",
                }
                if not await deliver(session, follow, event, 0.05 * ((i + k) % 4)):
                    for j, rest in enumerate(follow_ups[k:], start=k + 1):
                        new_message(i, j, rest, question.ts)
                    return

    async def watch(stop: asyncio.Event) -> None:
        while not stop.is_set():
            threads.scan()
            await asyncio.sleep(0.005)
        threads.scan()

    stop = asyncio.Event()
    watcher = asyncio.create_task(watch(stop))
    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=max(100, 4 * concurrency))
    try:
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            await asyncio.gather(*(conversation(session, i, q) for i, q in enumerate(questions)))
            finished = time.perf_counter()
            if retries:
                await asyncio.gather(*retries)
            # Every delivery has its ack, and a replica acks only once the handler exists.
            await asyncio.gather(*(_until_idle(session, url, idle_within_s) for url in endpoints))
    finally:
        stop.set()
        await watcher
    return _report(messages, finished - started)


async def _until_idle(session: aiohttp.ClientSession, url: str, within_s: float) -> None:
    """Poll the replica's GET /healthz until it has no event in hand, `within_s` at most
    (then the report counts what has arrived by then)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while True:
        try:
            async with session.get(f"{url.rstrip('/')}/healthz") as resp:
                health = await resp.json()
            if health.get("in_flight") == 0:
                return
        except (TimeoutError, aiohttp.ClientError, ValueError):
            pass  # not answering right now: ask again until the deadline
        if loop.time() >= deadline:
            return
        await asyncio.sleep(0.05)


def _report(messages: list[SentMessage], seconds: float) -> LoadReport:
    questions = [m for m in messages if m.kind == "question"]
    follows = [m for m in messages if m.kind == "follow_up"]
    latencies = [m.latency_ms for m in questions if m.latency_ms is not None]
    follow_latencies = [m.latency_ms for m in follows if m.latency_ms is not None]
    answered = sum(1 for m in messages if m.answers)
    return LoadReport(
        messages=messages,
        seconds=seconds,
        latencies_ms=latencies,
        follow_up_latencies_ms=follow_latencies,
        answers_per_question=[len(m.answers) for m in questions],
        answers_per_follow_up=[len(m.answers) for m in follows],
        duplicates=sum(max(0, len(m.answers) - 1) for m in messages),
        missing=sum(1 for m in messages if not m.answers),
        rejected=sum(1 for m in messages for s in m.statuses if s != 200),
        p50_ms=percentile(latencies, 0.5),
        p95_ms=percentile(latencies, 0.95),
        answers_per_s=answered / seconds if seconds > 0 else 0.0,
    )
