"""A fake OpenAI chat-completions server on 127.0.0.1 for the real `ChatOpenAI` client.

It speaks the wire protocol (`POST /v1/chat/completions`, bearer auth, the standard JSON body
and error envelope), records every request, and answers with a scripted behaviour: a reply
written from the request (`reply`), an HTTP error (`status`), or a delay (`delay`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Reply = Callable[[dict[str, Any]], str]

_PASSAGE_HEAD = re.compile(r"^\[(\d+)\] (.+?)(?: — (.+))?$")
_DOCUMENT = re.compile(r'<document index="(\d+)">\n(.*?)\n</document>', re.S)


@dataclass
class Recorded:
    """One request as the server received it."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    def message(self, role: str) -> str:
        """The content of the last message with this role."""
        found = [m for m in self.body.get("messages", []) if m.get("role") == role]
        content = found[-1]["content"] if found else ""
        if isinstance(content, list):  # content parts
            return "".join(p.get("text", "") for p in content if isinstance(p, dict))
        return str(content)


@dataclass
class Passage:
    """A numbered context passage as it appears in the prompt."""

    number: int
    title: str
    section: str
    text: str


def passages(prompt: str) -> list[Passage]:
    """Read the numbered passages back out of the <documents> block of a user message."""
    block = prompt.partition("<documents>")[2].partition("</documents>")[0]
    found = []
    for match in _DOCUMENT.finditer(block):
        head, _, text = match.group(2).partition("\n")
        head_match = _PASSAGE_HEAD.match(head.strip())
        if head_match and head_match.group(1) == match.group(1):
            found.append(
                Passage(
                    int(head_match.group(1)),
                    head_match.group(2),
                    head_match.group(3) or "",
                    text.strip(),
                )
            )
    return found


def first_sentence(text: str) -> str:
    line = text.strip().split("\n")[0]
    return re.split(r"(?<=[.!?다])\s", line, maxsplit=1)[0].strip()


def quoting(*numbers: int) -> Reply:
    """A grounded 'model': quote the first sentence of the given passages, citing each."""

    def reply(body: dict[str, Any]) -> str:
        found = {p.number: p for p in passages(Recorded("", {}, body).message("user"))}
        return "\n".join(f"• {first_sentence(found[n].text)} [{n}]" for n in numbers)

    return reply


@dataclass
class FakeOpenAI:
    """The server; configure `reply`, `status` or `delay` before each request."""

    reply: Reply = field(default_factory=lambda: quoting(1))
    status: int = 200
    delay: float = 0.0
    requests: list[Recorded] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _port: int = 0
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        """The base URL to give the client (OpenAI style, ending in /v1)."""
        return f"http://127.0.0.1:{self._port}/v1"

    async def start(self) -> FakeOpenAI:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = int(self._runner.addresses[0][1])
        return self

    async def close(self) -> None:
        self._release.set()  # wake any slow handler so shutdown does not wait for it
        if self._runner is not None:
            await self._runner.cleanup()

    async def _completions(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or len(auth) <= len("Bearer "):
            return _error(401, "You didn't provide an API key.", "invalid_request_error")
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "We could not parse the JSON body of your request.")
        self.requests.append(Recorded(request.path, dict(request.headers), body))
        if not isinstance(body.get("model"), str) or not isinstance(body.get("messages"), list):
            return _error(400, "'model' and 'messages' are required properties.")
        if body.get("stream"):
            return _error(400, "This fake server does not stream.")
        if self.delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), timeout=self.delay)
        if self.status != 200:
            return _error(self.status, "The server had an error while processing your request.")
        content = self.reply(body)
        self.replies.append(content)
        prompt_tokens = sum(len(str(m.get("content", ""))) // 4 for m in body["messages"])
        completion_tokens = max(1, len(content) // 4)
        return web.json_response(
            {
                "id": f"chatcmpl-{secrets.token_hex(12)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "system_fingerprint": None,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": None},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )


def _error(status: int, message: str, kind: str = "server_error") -> web.Response:
    """OpenAI's error envelope."""
    return web.json_response(
        {"error": {"message": message, "type": kind, "param": None, "code": None}}, status=status
    )
