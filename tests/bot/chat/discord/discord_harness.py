"""Helpers for the Discord tests: sending events through the fake, advisor stand-ins."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from fake_discord import BOT_ID, CHANNEL_ID, GUILD_ID, USER_A, FakeDiscord, RestCall, payload

from bot.advisor.models import Answer, Question
from bot.chat.discord_app import CareerBot
from bot.chat.service import ChatService
from bot.state import CLAIM_TTL_S, StateStore, StateUnavailable
from bot.state.writer import TurnWriter
from core.settings import Settings

#: MESSAGE_CREATE dispatch -> reply POST (ms), per answered message, for the closing summary.
LATENCIES_MS: list[float] = []

#: Member permissions with and without Manage Server (as Discord sends them in interactions).
MEMBER_PERMISSIONS = "311455763521"
MANAGER_PERMISSIONS = "311455763553"


def user(user_id: str, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": None,
        "public_flags": 0,
        **({"bot": True} if bot else {}),
    }


def guild_message(
    fake: FakeDiscord,
    content: str,
    *,
    author: str = USER_A,
    channel: str = CHANNEL_ID,
    mention: bool = True,
    **changes: Any,
) -> dict[str, Any]:
    """A MESSAGE_CREATE in the guild; with `mention` the content starts with the bot's mention."""
    recorded = payload("message_create_guild")
    data = fake.message_create(
        "message_create_guild",
        content=f"<@{BOT_ID}> {content}" if mention else content,
        channel_id=channel,
        author=recorded["author"] if author == USER_A else user(author, f"user{author[-4:]}"),
        **changes,
    )
    if not mention:
        data["mentions"] = []
    return data


def reply_message(fake: FakeDiscord, to: dict[str, Any], content: str) -> dict[str, Any]:
    """A user's reply to the bot's message `to`, with "mention on reply" switched off."""
    data = fake.message_create(
        "message_create_guild",
        type=19,
        content=content,
        channel_id=to["channel_id"],
        mentions=[],
        message_reference={
            "type": 0,
            "message_id": to["id"],
            "channel_id": to["channel_id"],
            "guild_id": GUILD_ID,
        },
        referenced_message=to,
    )
    return data


async def ask(
    fake: FakeDiscord, message: dict[str, Any], *, within: float = 15.0, measure: bool = True
) -> RestCall:
    """Dispatch MESSAGE_CREATE and wait for the bot's reply POST to that channel (timed for
    the latency summary unless `measure` is False)."""
    fake.remember(message)
    start = len(fake.calls)
    sent = await fake.dispatch("MESSAGE_CREATE", message)
    path = f"/channels/{message['channel_id']}/messages"
    call = await fake.wait_for(
        lambda c: c.method == "POST" and c.path == path, after=start, within=within
    )
    if measure:
        LATENCIES_MS.append((call.at - sent) * 1000)
    return call


async def settle(fake: FakeDiscord, bot: CareerBot) -> None:
    """Return once the bot has read every event sent so far and handled each to the end:
    whatever it was going to send for them, it has sent (so an absence can be asserted)."""
    await fake.delivered()
    assert await bot.drain(grace_s=30), "the bot was still handling events after 30 s"


def asking(fake: FakeDiscord, question: str, **changes: Any) -> dict[str, Any]:
    """An INTERACTION_CREATE of `/career ask` with `question`."""
    data = fake.interaction("interaction_career_ask", **changes)
    data["data"]["options"][0]["options"][0]["value"] = question
    return data


def is_followup(data: dict[str, Any]) -> Callable[[RestCall], bool]:
    """Matches the follow-up message the bot posts for the interaction `data`."""
    return lambda c: c.method == "POST" and c.path == f"/webhooks/{BOT_ID}/{data['token']}"


def is_reply_to(call: RestCall, message: dict[str, Any]) -> bool:
    """True for a message the bot posted in reply to the user's `message` (answer or
    apology), whether or not the fake accepted it."""
    body = call.json if isinstance(call.json, dict) else {}
    reference = body.get("message_reference") or {}
    return (
        call.method == "POST"
        and call.path == f"/channels/{message['channel_id']}/messages"
        and reference.get("message_id") == int(message["id"])
    )


def reply_of(call: RestCall) -> dict[str, Any]:
    """The message object the fake returned for a POST."""
    assert isinstance(call.response, dict)
    return call.response


def text_of(body: dict[str, Any]) -> str:
    """Everything a reader sees in a message body (content, embeds), as one string."""
    parts = [body.get("content") or ""]
    for embed in body.get("embeds", []):
        parts.append((embed.get("author") or {}).get("name", ""))
        parts.append(embed.get("description", ""))
        parts += [f"{f['name']}\n{f['value']}" for f in embed.get("fields", [])]
        parts.append((embed.get("footer") or {}).get("text", ""))
    return "\n".join(parts)


def custom_ids(body: dict[str, Any]) -> list[str]:
    return [
        button["custom_id"]
        for row in body.get("components", [])
        for button in row.get("components", [])
    ]


def raw_mass_mention(body: dict[str, Any]) -> bool:
    """True when the body holds a live @everyone/@here (not broken by a zero-width joiner)."""
    return "@everyone" in json.dumps(body, ensure_ascii=False) or "@here" in json.dumps(
        body, ensure_ascii=False
    )


class FailingAdvisor:
    """An advisor whose `ask` raises (the adapter's own error path); state is real."""

    def __init__(self, settings: Settings, state: StateStore) -> None:
        self.settings = settings
        self.memory = TurnWriter(state, turns=4, idle_s=3600)
        self.asked: list[Question] = []

    async def ask(self, question: Question) -> Answer:
        self.asked.append(question)
        raise RuntimeError("vector store exploded at /srv/secret/path")

    def help(self, language: str = "ko") -> str:
        return "help"

    async def close(self) -> None:
        return None


class ScriptedAdvisor:
    """Delegates `ask` to a real advisor; `reingest` (the chat service's, see `chat`) returns
    a queued report or raises."""

    def __init__(self, real: Any, outcomes: list[dict[str, Any] | Exception]) -> None:
        self.real = real
        self.settings = real.settings
        self.memory = real.memory
        self.outcomes = outcomes
        self.reingests = 0
        self.answers: list[Answer] = []

    async def ask(self, question: Question) -> Answer:
        answer: Answer = await self.real.ask(question)
        self.answers.append(answer)
        return answer

    def help(self, language: str = "ko") -> str:
        return str(self.real.help(language))

    async def close(self) -> None:
        return None

    async def reingest(self) -> dict[str, Any]:
        self.reingests += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def chat(self, settings: Settings) -> ChatService:
        """A chat service around this advisor whose re-ingest is the scripted one."""
        return ChatService(settings, self, reingest=self.reingest)


class PaddedAdvisor(ScriptedAdvisor):
    """The real advisor's answer, its text repeated to `length` characters and its citations
    to `citations`: a long answer to exercise Discord's limits end to end."""

    def __init__(self, real: Any, *, length: int, citations: int) -> None:
        super().__init__(real, [])
        self.length = length
        self.citations = citations

    async def ask(self, question: Question) -> Answer:
        answer = await super().ask(question)
        text = answer.text
        while len(text) < self.length:
            text += "\n\n" + answer.text
        cited = list(answer.citations)
        while len(cited) < self.citations:
            base = answer.citations[len(cited) % len(answer.citations)]
            cited.append(
                base.model_copy(
                    update={
                        "marker": len(cited) + 1,
                        "section": f"{base.section} / {len(cited) + 1}",
                        "chunk_id": f"{len(cited) + 1:024x}",
                    }
                )
            )
        padded = answer.model_copy(update={"text": text, "citations": cited})
        self.answers[-1] = padded
        return padded


class DownStore:
    """A state store that cannot be reached: every call raises `StateUnavailable`."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        async def unavailable(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            raise StateUnavailable("state store unreachable: OperationalError")

        return unavailable


class HangingClaims:
    """A state store whose `claim` hangs until `release` is set (a hung PostgreSQL); every
    other call goes to the real store."""

    def __init__(self, real: StateStore) -> None:
        self.real = real
        self.release = asyncio.Event()
        self.claims_done = 0

    async def claim(self, key: str, ttl_s: float = CLAIM_TTL_S) -> bool:
        await self.release.wait()
        claimed = await self.real.claim(key, ttl_s)
        self.claims_done += 1
        return claimed

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def replies_to(fake: FakeDiscord, message: dict[str, Any]) -> list[RestCall]:
    """Every successful reply the bot posted to the user's `message` (answer or apology)."""
    return [
        call
        for call in fake.calls
        if is_reply_to(call, message) and isinstance(call.response, dict)
    ]
