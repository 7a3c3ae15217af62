"""A fake Slack on 127.0.0.1: the Web API, response_url endpoints and the Socket Mode websocket.

It speaks the real wire protocol, so the real `AsyncWebClient`, `AsyncApp` and
`AsyncSocketModeHandler` talk to it unchanged (`base_url=fake.api_url`). Every call is
recorded with its arguments, HTTP status and arrival time; failures (429 with Retry-After,
500, `not_in_channel`, a dropped connection, ...) can be queued per method.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web


@dataclass
class Call:
    """One request the bot made to the fake."""

    method: str  # "chat.postMessage", ..., or "response_url"
    args: dict[str, Any]
    status: int
    at: float  # time.perf_counter() on arrival
    ok: bool = True  # Slack's "ok" in the answer
    token: str = ""
    result: dict[str, Any] = field(default_factory=dict)  # what the fake answered


@dataclass
class _Failure:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # cut the connection instead of answering


def sign(secret: str, timestamp: str, body: str | bytes) -> str:
    """Slack's request signature: v0=hex(HMAC-SHA256(secret, "v0:{ts}:{body}")), over the
    body's bytes as sent (which need not be UTF-8)."""
    raw = body.encode() if isinstance(body, str) else body
    base = f"v0:{timestamp}:".encode() + raw
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class FakeSlack:
    """Slack's Web API and Socket Mode server, faked on loopback."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test-bot-token",
        app_token: str = "xapp-1-test-app-token",
        team_id: str = "T0TEAM01",
        bot_user_id: str = "U0BOT001",
        bot_id: str = "B0BOT001",
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.calls: list[Call] = []
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.not_in_channel: set[str] = set()
        #: Tokens answered as Slack answers a revoked one (see `revoke`).
        self.revoked: set[str] = set()
        self.acks: dict[str, dict[str, Any]] = {}
        self.pings = 0
        #: Files uploaded through files upload v2: file id -> {"filename", "length", "data"}.
        self.uploads: dict[str, dict[str, Any]] = {}
        self.ws_connections = 0
        self._failures: dict[str, list[_Failure]] = {}
        self._ts = itertools.count(1)
        self._changed = asyncio.Condition()
        self._sockets: list[web.WebSocketResponse] = []
        self._connected = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_post("/response/{name}", self._response_url)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/socket/{ticket}", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"{self.url}/response/{name}"

    # -- scripting ------------------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        *,
        status: int = 200,
        error: str = "internal_error",
        headers: dict[str, str] | None = None,
        drop: bool = False,
    ) -> None:
        """Make the next call to `method` fail (e.g. status=429 with Retry-After).

        With `drop` the request is read and the connection cut without an answer (recorded
        with status 0), as when the network or a proxy fails before Slack acts on the call.
        """
        body = {"ok": False, "error": "ratelimited" if status == 429 else error}
        failure = _Failure(0 if drop else status, body, headers or {}, drop)
        self._failures.setdefault(method, []).append(failure)

    def revoke(self, token: str) -> None:
        """Answer every call made with `token` (auth.test, apps.connections.open, ...) as Slack
        answers a token revoked in the app's settings: `{"ok": false, "error": "token_revoked"}`.
        """
        self.revoked.add(token)

    # -- inspection -----------------------------------------------------------------------
    def calls_to(self, method: str, *, ok_only: bool = True) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == method and (not ok_only or (c.status == 200 and c.ok))
        ]

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        *,
        where: Callable[[Call], bool] | None = None,
        within_s: float = 15.0,
    ) -> list[Call]:
        """Wait until `count` successful calls to `method` (matching `where`) have arrived."""

        def matching() -> list[Call]:
            return [c for c in self.calls_to(method) if where is None or where(c)]

        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(matching()) >= count), within_s
            )
        return matching()

    # -- Web API --------------------------------------------------------------------------
    async def _record(self, call: Call) -> None:
        self.calls.append(call)
        async with self._changed:
            self._changed.notify_all()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        arrived = time.perf_counter()
        raw = await request.text()
        # slack_sdk sends some methods' arguments as a query string, others as a form or JSON.
        args: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            args |= json.loads(raw) if raw else {}
        else:
            args |= dict(parse_qsl(raw))
        for key in ("blocks", "attachments", "files"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") or str(args.pop("token", ""))
        failure = self._failures.get(method, [])
        if failure:
            fail = failure.pop(0)
            await self._record(Call(method, args, fail.status, arrived, False, token, fail.body))
            if fail.drop and request.transport is not None:
                request.transport.abort()
            return web.json_response(fail.body, status=fail.status, headers=fail.headers)
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if not token:
            body: dict[str, Any] = {"ok": False, "error": "not_authed"}
        elif token in self.revoked:
            body = {"ok": False, "error": "token_revoked"}
        elif token != expected:
            body = {"ok": False, "error": "invalid_auth"}
        else:
            body = self._answer(method, args)
        await self._record(Call(method, args, 200, arrived, body["ok"], token, body))
        return web.json_response(body)

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://fake.slack.test/",
                "team": "Fake Team",
                "user": "career-bot",
                "team_id": self.team_id,
                "user_id": self.bot_user_id,
                "bot_id": self.bot_id,
                "is_enterprise_install": False,
            }
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket/ticket-1"}
        if method in ("chat.postMessage", "chat.postEphemeral") and channel in self.not_in_channel:
            return {"ok": False, "error": "not_in_channel"}
        if method == "chat.postMessage":
            ts = self._next_ts()
            message = {
                "type": "message",
                "user": self.bot_user_id,
                "bot_id": self.bot_id,
                "ts": ts,
                "text": args.get("text", ""),
                "blocks": args.get("blocks", []),
            }
            if args.get("thread_ts"):
                message["thread_ts"] = args["thread_ts"]
            self.messages[(channel, ts)] = message
            return {"ok": True, "channel": channel, "ts": ts, "message": message}
        if method == "chat.update":
            key = (channel, str(args.get("ts")))
            if key not in self.messages:
                return {"ok": False, "error": "message_not_found"}
            self.messages[key] |= {"text": args.get("text", ""), "blocks": args.get("blocks", [])}
            return {"ok": True, "channel": channel, "ts": key[1], "text": args.get("text", "")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method in ("reactions.add", "reactions.remove"):
            return {"ok": True}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ts):08d}"
            self.uploads[file_id] = {
                "filename": args.get("filename"),
                "length": int(args.get("length") or 0),
                "data": None,
            }
            return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = args.get("files") or []
            if not all(f.get("id") in self.uploads for f in files):
                return {"ok": False, "error": "file_not_found"}
            if any(self.uploads[f["id"]]["data"] is None for f in files):
                return {"ok": False, "error": "file_not_uploaded"}
            for f in files:
                self.uploads[f["id"]] |= {
                    "title": f.get("title"),
                    "channel_id": args.get("channel_id"),
                    "thread_ts": args.get("thread_ts"),
                }
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}
        return {"ok": False, "error": "unknown_method"}

    async def _upload(self, request: web.Request) -> web.Response:
        """The upload URL files.getUploadURLExternal hands out: the file's bytes arrive here."""
        file_id = request.match_info["file_id"]
        data = await request.read()
        if file_id not in self.uploads:
            return web.Response(status=404, text="unknown upload")
        self.uploads[file_id]["data"] = data
        await self._record(
            Call("upload", {"file_id": file_id, "bytes": len(data)}, 200, time.perf_counter())
        )
        return web.Response(text=f"OK - {len(data)}")

    async def _response_url(self, request: web.Request) -> web.Response:
        args = await request.json()
        await self._record(
            Call(
                "response_url",
                args | {"_name": request.match_info["name"]},
                200,
                time.perf_counter(),
            )
        )
        return web.Response(text="ok")

    # -- Socket Mode ----------------------------------------------------------------------
    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        # autoping off so the fake answers pings itself and counts them.
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        self._sockets.append(ws)
        self.ws_connections += 1
        await ws.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0APP001"}}
        )
        self._connected.set()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.PING:
                    self.pings += 1
                    await ws.pong(msg.data)
                elif msg.type == WSMsgType.TEXT:
                    data = json.loads(msg.data)
                    if "envelope_id" in data:
                        self.acks[data["envelope_id"]] = data
                        async with self._changed:
                            self._changed.notify_all()
        finally:
            self._sockets.remove(ws)
        return ws

    async def wait_connected(self, within_s: float = 10.0) -> None:
        await asyncio.wait_for(self._connected.wait(), within_s)

    async def send_envelope(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        envelope_id: str,
        retry_attempt: int = 0,
        within_s: float = 10.0,
    ) -> dict[str, Any]:
        """Send an envelope (events_api, slash_commands, interactive); return the client's ack."""
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": kind,
            "accepts_response_payload": kind != "events_api",
        }
        if kind == "events_api":
            envelope |= {"retry_attempt": retry_attempt, "retry_reason": ""}
        await self._sockets[-1].send_json(envelope)
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: envelope_id in self.acks), within_s
            )
        return self.acks[envelope_id]
