"""A fake Discord on 127.0.0.1: the REST API under /api/v10 and a gateway websocket.

The real discord.py client is pointed at it (`Route.BASE`, `DiscordWebSocket.DEFAULT_GATEWAY`
through the bot's DISCORD_API_BASE_URL / DISCORD_GATEWAY_URL settings). It records every REST
call with its JSON body, answers the way Discord does (message objects, interaction callback
responses, command sync echoes) and lets a test dispatch gateway events.

The gateway keeps sessions the way Discord does: every dispatch gets the session's next
sequence number and is kept, so a RESUME (op 6) with the session id and the last sequence the
bot saw replays what it missed and then sends RESUMED. Dispatches made while the bot has no
live connection are only kept, to be replayed. Tests can ask the bot to reconnect (op 7),
invalidate its session (op 9), drop the socket without a close frame, and hold new
connections before HELLO to keep the bot disconnected for a while. `delivered` asks for a
heartbeat to learn that the bot has read every dispatch sent so far.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import email.policy
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

PAYLOADS = Path(__file__).parent / "payloads"

#: Shaped like a real bot token (base64 user id, timestamp, HMAC); it only opens the fake.
TOKEN = "MTA5ODc2NTQzMjEwOTg3NjU0Mw.GkD3xq.QzX0vN5e2m8RkTbYw1H7pLsA9cUjFgE4iOaVdZ"
BOT_ID = "1098765432109876543"
GUILD_ID = "1120345678901234567"
CHANNEL_ID = "1120345678901234570"
THREAD_ID = "1245678901234567890"
DM_CHANNEL_ID = "1250000000000000001"
USER_A = "352468209163976705"
USER_B = "412398765432109876"
DISCORD_EPOCH_MS = 1420070400000
LOADING = 1 << 7  # message flag of a deferred "thinking…" response
EPHEMERAL = 1 << 6


def payload(name: str) -> dict[str, Any]:
    """A fresh copy of a recorded payload from payloads/<name>.json."""
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    return data


@dataclass
class RestCall:
    """One REST request as the fake received it."""

    method: str
    path: str  # after /api/v10, e.g. /channels/1120345678901234570/messages
    query: dict[str, str]
    json: Any
    headers: dict[str, str]
    at: float = field(default_factory=time.perf_counter)
    response: Any = None  # the JSON the fake answered with
    raw: bytes = b""  # the body exactly as received
    #: Files sent as multipart/form-data (discord.File): name, filename, content_type, data.
    files: list[dict[str, Any]] = field(default_factory=list)

    @property
    def carries_message(self) -> bool:
        """True for every call that posts or edits message content."""
        if self.method == "POST" and re.fullmatch(r"/channels/\d+/messages", self.path):
            return True
        if self.path.startswith("/webhooks/") and self.method in ("POST", "PATCH"):
            return True
        return self.path.endswith("/callback") and (self.json or {}).get("type") in (4, 7)

    @property
    def message_body(self) -> dict[str, Any]:
        """The message part of the body (an interaction callback nests it under `data`)."""
        body = self.json or {}
        if self.path.endswith("/callback"):
            return dict(body.get("data") or {})
        return dict(body)


Handler = Callable[..., Awaitable[web.StreamResponse]]

#: Dispatches that belong to one connection and are never replayed by a RESUME.
NOT_REPLAYED = frozenset({"READY", "RESUMED"})


@dataclass
class GatewaySession:
    """One gateway session: its sequence and every dispatch sent in it (for RESUME)."""

    id: str
    seq: int = 0
    frames: list[dict[str, Any]] = field(default_factory=list)
    #: Closed by the bot (1000/1001), invalidated or replaced by a new IDENTIFY: not resumable.
    ended: bool = False


@dataclass
class GatewayConnection:
    """One websocket connection of the bot to the gateway."""

    path: str  # /gateway (DISCORD_GATEWAY_URL) or /resume (READY's resume_gateway_url)
    query: dict[str, str]
    ws: web.WebSocketResponse
    request: web.Request
    opcode: str = ""  # how the bot began it: "identify" or "resume" ("" before either)
    session: GatewaySession | None = None
    live: bool = False  # dispatches are sent on it (from READY or RESUMED on)
    dropped: bool = False  # the fake cut it without a close frame
    close_code: int | None = None  # the bot's close code once it closed the socket
    closed: bool = False
    #: The sequence number each of the bot's heartbeats (op 1) carried: the last one it read.
    heartbeats: list[int | None] = field(default_factory=list)


class FakeDiscord:
    """Discord's REST API and gateway, speaking the real wire format, on an ephemeral port."""

    def __init__(self, *, token: str) -> None:
        self.token = token
        self.user = payload("user_me")
        self.application = payload("application")
        self.guilds = [payload("guild_create")]
        self.calls: list[RestCall] = []
        self.identifies: list[dict[str, Any]] = []
        #: RESUME (op 6) payloads: session_id, seq, token.
        self.resumes: list[dict[str, Any]] = []
        #: Sequence numbers sent again because a RESUME asked for what followed its seq.
        self.replayed: list[int] = []
        self.connections: list[GatewayConnection] = []
        self.sessions: dict[str, GatewaySession] = {}
        #: The session dispatches belong to (the latest IDENTIFY's).
        self.session: GatewaySession | None = None
        self.messages: dict[str, dict[str, Any]] = {}
        #: Files the bot attached to messages, by attachment id.
        self.attachments: dict[str, dict[str, Any]] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.interactions: dict[str, dict[str, Any]] = {}
        self._originals: dict[str, dict[str, Any]] = {}
        self._failures: list[tuple[str, re.Pattern[str], int, dict[str, Any]]] = []
        self._counter = 0
        self._live: GatewayConnection | None = None
        self._accepting = asyncio.Event()
        self._accepting.set()
        self._changed = asyncio.Event()
        self._gateway_changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0
        s = r"(?P<{}>\d+)"
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("GET", re.compile(r"/users/@me"), self._get_me),
            ("GET", re.compile(r"/oauth2/applications/@me"), self._get_application),
            ("GET", re.compile(r"/gateway(/bot)?"), self._get_gateway),
            (
                "PUT",
                re.compile(rf"/applications/{s.format('app')}/guilds/{s.format('guild')}/commands"),
                self._put_commands,
            ),
            ("PUT", re.compile(rf"/applications/{s.format('app')}/commands"), self._put_commands),
            ("POST", re.compile(rf"/channels/{s.format('channel')}/typing"), self._typing),
            ("POST", re.compile(rf"/channels/{s.format('channel')}/messages"), self._post_message),
            (
                "GET",
                re.compile(rf"/channels/{s.format('channel')}/messages/{s.format('message')}"),
                self._get_message,
            ),
            (
                "POST",
                re.compile(rf"/interactions/{s.format('interaction')}/(?P<token>[^/]+)/callback"),
                self._interaction_callback,
            ),
            ("POST", re.compile(rf"/webhooks/{s.format('app')}/(?P<token>[^/]+)"), self._followup),
            (
                "PATCH",
                re.compile(rf"/webhooks/{s.format('app')}/(?P<token>[^/]+)/messages/@original"),
                self._edit_original,
            ),
            (
                "DELETE",
                re.compile(rf"/webhooks/{s.format('app')}/(?P<token>[^/]+)/messages/@original"),
                self._delete_original,
            ),
        ]

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/resume", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        self._accepting.set()
        for connection in self.connections:
            if not connection.ws.closed:
                await connection.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        """What READY tells the bot to RESUME on (a path of its own, to see it is used)."""
        return f"ws://127.0.0.1:{self.port}/resume"

    # -- what tests use ----------------------------------------------------------------------
    def snowflake(self) -> str:
        """A realistic id: milliseconds since Discord's epoch, worker bits, a counter."""
        self._counter += 1
        now = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return str((now << 22) | (1 << 17) | (self._counter & 0xFFF))

    async def dispatch(self, event: str, data: dict[str, Any]) -> float:
        """Send a gateway dispatch (op 0) in the bot's session; returns when it was sent.

        With no live connection (dropped, asked to reconnect) the dispatch is only kept in the
        session, and a RESUME replays it.
        """
        session = self.session
        assert session is not None, "no bot is connected"
        assert not session.ended, "the bot has disconnected"
        if event == "INTERACTION_CREATE":
            self.interactions[str(data["id"])] = data
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": data}
        if event not in NOT_REPLAYED:
            session.frames.append(frame)
        sent = time.perf_counter()
        live = self._live
        if live is not None and live.session is session:
            with contextlib.suppress(ConnectionError):  # closing under us: a RESUME replays it
                await live.ws.send_str(json.dumps(frame))
        return sent

    @property
    def live(self) -> GatewayConnection | None:
        """The connection dispatches go out on, if any."""
        return self._live

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT; from now on dispatches wait in the session for a RESUME."""
        connection = self._take_live()
        await connection.ws.send_str(json.dumps({"op": 7, "d": None, "s": None, "t": None}))

    async def invalidate_session(self) -> None:
        """Send op 9 INVALID_SESSION (d=false): the session cannot be resumed."""
        connection = self._take_live()
        assert connection.session is not None
        connection.session.ended = True
        await connection.ws.send_str(json.dumps({"op": 9, "d": False, "s": None, "t": None}))

    def drop(self) -> None:
        """Cut the live connection abruptly: the transport is aborted, no close frame."""
        connection = self._take_live()
        connection.dropped = True
        transport = connection.request.transport
        assert transport is not None
        transport.abort()

    def forget_session(self) -> None:
        """Discord no longer knows the bot's session (it was gone too long): a RESUME of it
        is answered with op 9."""
        assert self.session is not None, "no session"
        self.session.ended = True

    def hold_connections(self) -> None:
        """New gateway connections are accepted but get no HELLO until released."""
        self._accepting.clear()

    def release_connections(self) -> None:
        self._accepting.set()

    async def wait_connection(
        self, predicate: Callable[[GatewayConnection], bool], *, within: float = 15.0
    ) -> GatewayConnection:
        """The first gateway connection that matches, waiting for it if need be."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            for connection in self.connections:
                if predicate(connection):
                    return connection
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = [(c.path, c.opcode, c.live, c.close_code) for c in self.connections]
                raise AssertionError(f"no matching gateway connection in {within} s; saw {seen}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._gateway_changed.wait(), remaining)

    def _take_live(self) -> GatewayConnection:
        connection = self._live
        assert connection is not None, "no live gateway connection"
        connection.live = False
        self._live = None
        return connection

    def _gateway_event(self) -> None:
        self._gateway_changed.set()
        self._gateway_changed = asyncio.Event()

    async def wait_for(
        self, predicate: Callable[[RestCall], bool], *, after: int = 0, within: float = 15.0
    ) -> RestCall:
        """The first call from index `after` on that matches, waiting for it if need be."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            for call in self.calls[after:]:
                if predicate(call):
                    return call
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = [f"{c.method} {c.path}" for c in self.calls[after:]]
                raise AssertionError(f"no matching REST call within {within} s; saw {seen}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def delivered(self, *, within: float = 15.0) -> None:
        """Return once the bot has read every dispatch sent on the live connection so far.

        Asks for a heartbeat (op 1), as Discord may at any time: the bot answers at once with
        the sequence number of the last dispatch it read. It reads frames in order and hands
        each event to its handlers as it reads it, so those handlers have all started by then.
        """
        connection = self._live
        assert connection is not None, "no live gateway connection"
        assert connection.session is not None
        sent = connection.session.seq
        await connection.ws.send_str(json.dumps({"op": 1, "d": None, "s": None, "t": None}))

        def read_all(c: GatewayConnection) -> bool:
            return c is connection and any(s is not None and s >= sent for s in c.heartbeats)

        await self.wait_connection(read_all, within=within)

    def message_calls(self, after: int = 0) -> list[RestCall]:
        return [c for c in self.calls[after:] if c.carries_message]

    def fail_next(self, method: str, path: str, status: int, body: dict[str, Any]) -> None:
        """Answer the next `method` call whose path fully matches `path` with an error."""
        self._failures.append((method, re.compile(path), status, body))

    def message_create(self, name: str, **changes: Any) -> dict[str, Any]:
        """A MESSAGE_CREATE payload from a recording, with a fresh id and the given changes."""
        data = payload(name)
        data["id"] = self.snowflake()
        data["timestamp"] = _now()
        data.update(changes)
        return data

    def interaction(self, name: str, **changes: Any) -> dict[str, Any]:
        """An INTERACTION_CREATE payload from a recording, with a fresh id and token."""
        data = payload(name)
        data["id"] = self.snowflake()
        data["token"] = f"aW50ZXJhY3Rpb246{data['id']}OnRva2Vu"
        data.update(changes)
        return data

    # -- REST --------------------------------------------------------------------------------
    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        raw = await request.read()
        body: Any = None
        files: list[dict[str, Any]] = []
        if raw and request.content_type == "multipart/form-data":
            body, files = _multipart(request.headers["Content-Type"], raw)
        elif raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        call = RestCall(
            request.method,
            path,
            dict(request.query),
            body,
            dict(request.headers),
            raw=raw,
            files=files,
        )
        self.calls.append(call)
        self._changed.set()
        self._changed = asyncio.Event()
        webhook = path.startswith(("/webhooks/", "/interactions/"))
        if not webhook and request.headers.get("Authorization") != f"Bot {self.token}":
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        for i, (method, pattern, status, error) in enumerate(self._failures):
            if method == request.method and pattern.fullmatch(path):
                del self._failures[i]
                return _json(error, status=status)
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if method == request.method and match:
                response = await handler(call, **match.groupdict())
                if isinstance(response, web.Response) and response.body:
                    call.response = json.loads(response.body)  # type: ignore[arg-type]
                return response
        return _json({"message": "404: Not Found", "code": 0}, status=404)

    async def _get_me(self, call: RestCall) -> web.StreamResponse:
        return _json(self.user)

    async def _get_application(self, call: RestCall) -> web.StreamResponse:
        return _json(self.application)

    async def _get_gateway(self, call: RestCall) -> web.StreamResponse:
        return _json(
            {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 14400000,
                    "max_concurrency": 1,
                },
            }
        )

    async def _put_commands(
        self, call: RestCall, app: str, guild: str | None = None
    ) -> web.StreamResponse:
        synced = []
        for command in call.json or []:
            item = {
                "type": 1,
                "default_member_permissions": None,
                "nsfw": False,
                "contexts": None,
                "integration_types": [0],
                **command,
                "id": self.snowflake(),
                "application_id": app,
                "version": self.snowflake(),
            }
            if guild is not None:
                item["guild_id"] = guild
            synced.append(item)
        self.commands[guild or "global"] = synced
        return _json(synced)

    async def _typing(self, call: RestCall, channel: str) -> web.StreamResponse:
        return web.Response(status=204)

    async def _post_message(self, call: RestCall, channel: str) -> web.StreamResponse:
        return _json(self._store(self._message(channel, call.json or {}, files=call.files)))

    async def _get_message(self, call: RestCall, channel: str, message: str) -> web.StreamResponse:
        found = self.messages.get(message)
        if found is None:
            return _json({"message": "Unknown Message", "code": 10008}, status=404)
        return _json(found)

    async def _interaction_callback(
        self, call: RestCall, interaction: str, token: str
    ) -> web.StreamResponse:
        body = call.json or {}
        kind = body.get("type")
        data = body.get("data") or {}
        source = self.interactions.get(interaction, {})
        info: dict[str, Any] = {
            "id": interaction,
            "type": source.get("type", 2),
            "activity_instance_id": None,
            "response_message_id": None,
            "response_message_loading": kind == 5,
            "response_message_ephemeral": bool(data.get("flags", 0) & EPHEMERAL),
        }
        resource: dict[str, Any] = {"type": kind}
        if kind in (4, 5):
            content = data if kind == 4 else {"flags": data.get("flags", 0) | LOADING}
            message = self._store(
                self._message(str(source.get("channel_id", "0")), content, webhook=True)
            )
            message["interaction_metadata"] = _interaction_metadata(source)
            self._originals[token] = message
            info["response_message_id"] = message["id"]
            resource["message"] = message
        return _json({"interaction": info, "resource": resource})

    async def _followup(self, call: RestCall, app: str, token: str) -> web.StreamResponse:
        body = call.json or {}
        original = self._originals.get(token)
        if original is not None and original["flags"] & LOADING and not original.get("deleted"):
            # The first follow-up after a deferred response replaces the "thinking…" message;
            # its ephemeral flag is ignored (Discord's documented behaviour).
            original["content"] = body.get("content") or ""
            original["embeds"] = [{"type": "rich", **e} for e in body.get("embeds", [])]
            original["components"] = copy.deepcopy(body.get("components", []))
            original["flags"] &= ~LOADING
            original["attachments"] = self._attachments(body, call.files)
            return _json(original)
        channel = self._channel_of_token(token)
        message = self._message(channel, body, webhook=True, files=call.files)
        source = next((d for d in self.interactions.values() if d.get("token") == token), None)
        if source is not None:
            message["interaction_metadata"] = _interaction_metadata(source)
        return _json(self._store(message))

    async def _edit_original(self, call: RestCall, app: str, token: str) -> web.StreamResponse:
        original = self._originals.get(token)
        if original is None or original.get("deleted"):
            return _json({"message": "Unknown Message", "code": 10008}, status=404)
        original.update(call.json or {})
        original["flags"] &= ~LOADING
        return _json(original)

    async def _delete_original(self, call: RestCall, app: str, token: str) -> web.StreamResponse:
        original = self._originals.get(token)
        if original is None or original.get("deleted"):
            return _json({"message": "Unknown Message", "code": 10008}, status=404)
        original["deleted"] = True
        return web.Response(status=204)

    def _channel_of_token(self, token: str) -> str:
        for data in self.interactions.values():
            if data.get("token") == token:
                return str(data.get("channel_id", "0"))
        return "0"

    def _attachments(
        self, body: dict[str, Any], files: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Attachment objects for the files a message carried (`attachments` in payload_json
        describes them by index: `files[n]`)."""
        out = []
        for n, f in enumerate(files):
            described = next(
                (a for a in body.get("attachments", []) if str(a.get("id")) == str(n)), {}
            )
            attachment_id = self.snowflake()
            filename = described.get("filename") or f["filename"]
            url = f"{self.api_base_url}/attachments/{attachment_id}/{filename}"
            out.append(
                {
                    "id": attachment_id,
                    "filename": filename,
                    "size": len(f["data"]),
                    "url": url,
                    "proxy_url": url,
                    "content_type": f["content_type"],
                }
            )
            self.attachments[attachment_id] = f | {"filename": filename}
        return out

    def _message(
        self,
        channel: str,
        body: dict[str, Any],
        *,
        webhook: bool = False,
        files: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A message object as Discord returns it for what the bot sent."""
        reference = body.get("message_reference")
        referenced = self.messages.get(str(reference["message_id"])) if reference else None
        message: dict[str, Any] = {
            "type": 19 if reference else (20 if webhook else 0),
            "content": body.get("content") or "",
            "mentions": [],
            "mention_roles": [],
            "attachments": self._attachments(body, files or []),
            "embeds": [{"type": "rich", **e} for e in body.get("embeds", [])],
            "timestamp": _now(),
            "edited_timestamp": None,
            "flags": body.get("flags", 0),
            "components": copy.deepcopy(body.get("components", [])),
            "id": self.snowflake(),
            "channel_id": channel,
            "author": {k: self.user[k] for k in ("id", "username", "discriminator", "avatar")}
            | {"bot": True, "global_name": self.user["global_name"], "public_flags": 0},
            "pinned": False,
            "mention_everyone": False,
            "tts": False,
        }
        if webhook:
            message["webhook_id"] = self.application["id"]
            message["application_id"] = self.application["id"]
        if reference:
            message["message_reference"] = {"type": 0, **reference}
            message["referenced_message"] = referenced
        return message

    def _store(self, message: dict[str, Any]) -> dict[str, Any]:
        self.messages[message["id"]] = message
        return message

    def remember(self, message: dict[str, Any]) -> None:
        """Make a user's message known (so the bot's reply can reference it)."""
        self.messages[str(message["id"])] = message

    # -- gateway -----------------------------------------------------------------------------
    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        connection = GatewayConnection(request.path, dict(request.query), ws, request)
        self.connections.append(connection)
        self._gateway_event()
        try:
            await self._accepting.wait()
            await ws.send_str(
                json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})
            )
            async for frame in ws:
                if frame.type is not WSMsgType.TEXT:
                    continue
                message = json.loads(frame.data)
                op = message.get("op")
                if op == 1:
                    connection.heartbeats.append(message.get("d"))
                    self._gateway_event()
                    await ws.send_str(json.dumps({"op": 11, "d": None, "s": None, "t": None}))
                elif op == 2:
                    await self._identify(connection, message["d"])
                elif op == 6:
                    await self._resume(connection, message["d"])
        finally:
            self._closed(connection)
        return ws

    def _closed(self, connection: GatewayConnection) -> None:
        connection.closed = True
        connection.live = False
        if self._live is connection:
            self._live = None
        if not connection.dropped:
            connection.close_code = connection.ws.close_code
            # A clean close by the bot ends its session, as on Discord.
            if connection.close_code in (1000, 1001) and connection.session is not None:
                connection.session.ended = True
        self._gateway_event()

    async def _identify(self, connection: GatewayConnection, data: dict[str, Any]) -> None:
        """A new session: READY with its id and the resume URL, then the guilds."""
        self.identifies.append(data)
        if self.session is not None:
            self.session.ended = True
        session = GatewaySession(secrets.token_hex(16))
        self.sessions[session.id] = session
        self.session = session
        connection.opcode = "identify"
        connection.session = session
        connection.live = True
        self._live = connection
        await self._ready(session)
        self._gateway_event()

    async def _resume(self, connection: GatewayConnection, data: dict[str, Any]) -> None:
        """Replay what followed the bot's last sequence, then RESUMED; op 9 if impossible."""
        self.resumes.append(data)
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or session.ended or data.get("token") != self.token:
            await connection.ws.send_str(json.dumps({"op": 9, "d": False, "s": None, "t": None}))
            return
        if self._live is not None and self._live.session is session:
            self._take_live()  # the bot gave up on that one before the fake noticed
        connection.opcode = "resume"
        connection.session = session
        seen = int(data.get("seq") or 0)
        n = next((i for i, f in enumerate(session.frames) if f["s"] > seen), len(session.frames))
        while n < len(session.frames):  # dispatches made meanwhile are appended: sent too
            frame = session.frames[n]
            await connection.ws.send_str(json.dumps(frame))
            self.replayed.append(int(frame["s"]))
            n += 1
        connection.live = True
        self._live = connection
        await self.dispatch("RESUMED", {"_trace": ['["gateway-fake",{"micros":1,"calls":[]}]']})
        self._gateway_event()

    async def _ready(self, session: GatewaySession) -> None:
        ready = payload("ready")
        ready["user"] = {**ready["user"], "id": self.user["id"]}
        ready["guilds"] = [{"id": g["id"], "unavailable": True} for g in self.guilds]
        ready["session_id"] = session.id
        ready["resume_gateway_url"] = self.resume_gateway_url
        await self.dispatch("READY", ready)
        for guild in self.guilds:
            await self.dispatch("GUILD_CREATE", copy.deepcopy(guild))


def _json(data: Any, status: int = 200) -> web.Response:
    # Exactly "application/json": discord.py reads anything else (even with a charset) as text.
    return web.Response(
        body=json.dumps(data, ensure_ascii=False).encode("utf-8"),
        status=status,
        headers={"Content-Type": "application/json"},
    )


def _multipart(content_type: str, raw: bytes) -> tuple[Any, list[dict[str, Any]]]:
    """Split a multipart/form-data body into its payload_json and its files."""
    message = BytesParser(policy=email.policy.default).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    body: Any = None
    files: list[dict[str, Any]] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        if name == "payload_json":
            body = json.loads(data)
        else:
            files.append(
                {
                    "name": name,
                    "filename": part.get_filename(),
                    "content_type": part.get_content_type(),
                    "data": data,
                }
            )
    return body, files


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _interaction_metadata(source: dict[str, Any]) -> dict[str, Any]:
    """What Discord puts on a message that answers an interaction: who used it."""
    user = (source.get("member") or {}).get("user") or source.get("user") or {}
    return {"id": source.get("id", "0"), "type": source.get("type", 2), "user": user}
