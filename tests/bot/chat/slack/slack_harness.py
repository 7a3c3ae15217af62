"""The Slack bot under test, wired to the fake Slack: signed HTTP delivery and helpers."""

from __future__ import annotations

import copy
import json
import statistics
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from bot.chat.service import build_chat_service
from bot.chat.slack_app import SlackBot, build_slack_bot
from bot.devtools.loopback.slack import Call, FakeSlack, sign
from core.settings import Settings

PAYLOADS = Path(__file__).parent / "payloads"
BOT_TOKEN = "xoxb-1111-2222-fakebottoken"
APP_TOKEN = "xapp-1-A0APP001-3333-fakeapptoken"
SIGNING_SECRET = "9f2c1e7d4b8a6f3e0d5c2b1a7e6f4d3c"
CHANNEL = "C0CAREER1"
DM = "D0DIRECT1"
BOT_USER = "U0BOT001"
ASKER = "U0ASKER1"
MENTION_TS = "1718000000.000100"

#: Milliseconds from delivering an event to the bot's chat.postMessage, over all tests.
LATENCIES_MS: list[float] = []


def load(name: str) -> dict[str, Any]:
    """A stored payload (a fresh copy)."""
    return copy.deepcopy(json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8")))


def event(name: str, *, event_id: str | None = None, **fields: Any) -> dict[str, Any]:
    """An event_callback from a stored payload, with event fields replaced."""
    body = load(name)
    body["event"].update(fields)
    if "ts" in fields:
        body["event"]["event_ts"] = fields["ts"]
    if event_id is not None:
        body["event_id"] = event_id
    return body


def command(text: str, **fields: Any) -> dict[str, Any]:
    body = load("slash_command")
    body.update(text=text, **fields)
    return body


def all_text(call: Call) -> str:
    """Everything a call would show: its text, its blocks, serialised."""
    return json.dumps(
        {k: v for k, v in call.args.items() if k in ("text", "blocks")}, ensure_ascii=False
    )


def block_texts(blocks: list[dict[str, Any]], kind: str) -> list[str]:
    texts = []
    for block in blocks:
        if block["type"] != kind:
            continue
        if "text" in block:
            texts.append(block["text"]["text"])
        texts += [
            e["text"] for e in block.get("elements", []) if "text" in e and e["type"] == "mrkdwn"
        ]
    return texts


def median_latency_ms() -> float:
    return statistics.median(LATENCIES_MS) if LATENCIES_MS else float("nan")


@dataclass
class Harness:
    fake: FakeSlack
    bot: SlackBot
    settings: Settings
    url: str
    session: aiohttp.ClientSession
    sent_at: dict[str, float] = field(default_factory=dict)

    async def post(
        self,
        body: str | bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str = SIGNING_SECRET,
        signed: bool = True,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        """POST a request to /slack/events as Slack would: signed, unless `signed` is False."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        sent = {"Content-Type": content_type}
        if signed:
            sent |= {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sign(secret, ts, body)}
        raw = body.encode() if isinstance(body, str) else body
        async with self.session.post(
            f"{self.url}/slack/events", data=raw, headers=sent | (headers or {})
        ) as resp:
            return resp.status, await resp.text()

    async def send_event(self, payload: dict[str, Any], **kwargs: Any) -> int:
        self.sent_at.setdefault(payload["event"].get("ts", ""), time.perf_counter())
        status, _ = await self.post(json.dumps(payload), "application/json", **kwargs)
        return status

    async def send_command(self, payload: dict[str, Any], **kwargs: Any) -> tuple[int, Any]:
        payload = payload | {"response_url": self.fake.response_url("command")}
        status, text = await self.post(
            urlencode(payload), "application/x-www-form-urlencoded", **kwargs
        )
        return status, (json.loads(text) if text.startswith("{") else text)

    async def send_action(self, payload: dict[str, Any], **kwargs: Any) -> int:
        status, _ = await self.post(
            urlencode({"payload": json.dumps(payload)}),
            "application/x-www-form-urlencoded",
            **kwargs,
        )
        return status

    async def answer_to(self, ts: str, *, channel: str = CHANNEL, thread: bool = True) -> Call:
        """Wait for the bot's reply to the message `ts` and note how long it took."""

        def replies(call: Call) -> bool:
            if call.args.get("channel") != channel:
                return False
            return call.args.get("thread_ts") == ts if thread else True

        call = (await self.fake.wait_for("chat.postMessage", where=replies))[0]
        if ts in self.sent_at:
            LATENCIES_MS.append((call.at - self.sent_at[ts]) * 1000)
        return call

    async def settle(self) -> None:
        await self.bot.drain(grace_s=20)


@asynccontextmanager
async def slack_harness(
    settings_factory: Callable[..., Settings],
    *,
    advisor: Any = None,
    make_advisor: Callable[[Settings], Any] | None = None,
    **overrides: Any,
) -> AsyncIterator[Harness]:
    """A fake Slack, the real bot (production client pointed at the fake) served over HTTP."""
    from bot.advisor.advisor import build_advisor

    fake = await FakeSlack(bot_token=BOT_TOKEN, app_token=APP_TOKEN).start()
    settings = settings_factory(
        slack_bot_token=BOT_TOKEN,
        slack_app_token=APP_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake.api_url,
        **overrides,
    )
    owned = advisor is None
    if advisor is None:
        advisor = await (make_advisor or build_advisor)(settings)
    if make_advisor is None:  # a real advisor: the service gets its index, as in production
        knowledge, embedder = advisor.knowledge, advisor.retriever.embedder
        chat = build_chat_service(settings, advisor, knowledge=knowledge, embedder=embedder)
    else:
        chat = build_chat_service(settings, advisor)
    bot = build_slack_bot(settings, advisor, chat=chat)
    runner = web.AppRunner(bot.web_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    session = aiohttp.ClientSession()
    try:
        yield Harness(fake, bot, settings, f"http://127.0.0.1:{port}", session)
    finally:
        await bot.drain(grace_s=20)
        await session.close()
        await runner.cleanup()
        await fake.close()
        if owned:
            await advisor.close()
