"""The Slack surface: a thin slack-bolt adapter around the platform-neutral chat service.

Its listeners translate Slack events, the `/career` slash command and the feedback buttons
into calls of the chat service, and the typed outcomes into Slack replies. The rest of the
adapter is Slack's own formats and API, each in its module: what Slack sends, read into typed
values (`slack_payloads`); what a reply looks like, Block Kit within Slack's limits
(`slack_blocks`); how a reply gets there through the Web API (`slack_replies`).

Two transports, one app: Socket Mode (`career-bot slack`, no public URL) and HTTP
(`career-bot slack --http`, `POST /slack/events`, its signature checked before its body is read,
plus `GET /healthz`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.advisor.messages import help_text
from bot.chat.outcomes import (
    Answered,
    Duplicate,
    Help,
    Incoming,
    RateLimited,
    Reingest,
    ReingestOutcome,
    ReingestRefused,
    Replied,
    ReportFailed,
    ReportReady,
    ReportRequest,
)
from bot.chat.phrases import BOTH, describe
from bot.chat.service import ChatService, Handlers, build_chat_service, parse_command, serving
from bot.chat.slack_blocks import (
    ACTION_HELPFUL,
    ACTION_NOT_HELPFUL,
    SlackMessage,
    asked_line,
    escape_mrkdwn,
    plain_message,
    plain_question,
    render_answer,
    working_message,
)
from bot.chat.slack_payloads import Target, read_click, read_command, read_message
from bot.chat.slack_replies import SlackReplies
from core.settings import Settings, SettingsError

if TYPE_CHECKING:
    from bot.chat.service import AdvisorLike

logger = logging.getLogger(__name__)


class SlackConfigError(RuntimeError):
    """A setting the Slack bot needs is missing, malformed or refused (the message names it)."""


class SlackUnreachable(SlackConfigError):
    """Slack could not be reached at start-up to check the tokens (network, proxy or
    SLACK_API_URL); the entry points report it as they report a setting, by its message."""


#: Slack's answers to a token that is wrong, revoked, expired, of another kind or missing.
_TOKEN_REFUSED = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "not_allowed_token_type",
    }
)

#: Where to get each token again, for the message that says Slack refused it.
_WHERE = {
    "SLACK_BOT_TOKEN": "copy the Bot User OAuth Token (xoxb-) again from OAuth & Permissions "
    "in the app's settings, or reinstall the app",
    "SLACK_APP_TOKEN": "make an app-level token with the connections:write scope under Basic "
    "Information > App-Level Tokens and set it",
}


# -- the bot -----------------------------------------------------------------------------


def make_web_client(settings: Settings) -> AsyncWebClient:
    """The production Web API client: SLACK_API_URL, with retries for 429s and outages."""
    if settings.slack_bot_token is None:
        raise SlackConfigError("SLACK_BOT_TOKEN is not set")
    base_url = (
        settings.slack_api_url
        if settings.slack_api_url.endswith("/")
        else settings.slack_api_url + "/"
    )
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=base_url,
        timeout=30,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            # Sleeps for the response's Retry-After before trying again.
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )


class _RequestVerifier(SignatureVerifier):
    """Slack's request signature over the raw body, whatever its bytes.

    slack_sdk's verifier decodes the body as UTF-8 and reads the timestamp as an integer
    before it compares anything, so bytes or headers Slack never sends raise instead of
    failing the check.
    """

    def generate_signature(self, *, timestamp: str, body: str | bytes) -> str:
        raw = body.encode() if isinstance(body, str) else body
        base = b"v0:" + timestamp.encode() + b":" + raw
        return "v0=" + hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()

    def signed(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """Whether the request carries a fresh, matching signature (X-Slack-Signature)."""
        try:
            return self.is_valid_request(body, headers)
        except (ValueError, TypeError):  # a timestamp that is no number, a non-ASCII signature
            return False


class SlackBot:
    """The Bolt app and the listeners that translate between Slack and the advisor."""

    def __init__(self, settings: Settings, chat: ChatService, client: AsyncWebClient) -> None:
        self.settings = settings
        self.chat = chat
        # Socket Mode requests skip signature checks; without a signing secret HTTP requests
        # must still fail verification, so an unguessable one stands in.
        secret = settings.slack_signing_secret
        signing_secret = secret.get_secret_value() if secret else secrets.token_hex(32)
        self._verifier = _RequestVerifier(signing_secret)
        self.app = AsyncApp(
            client=client,
            signing_secret=signing_secret,
            # Ack first (Bolt does it for events, listeners call ack() first for commands and
            # actions) and answer afterwards, so Slack never waits or retries.
            process_before_response=False,
            name="career-advisor",
        )
        self.handlers = Handlers(chat)
        self.send = SlackReplies(self.app.client)
        self.app.event("app_mention")(self._on_event)
        self.app.event("message")(self._on_event)
        self.app.command("/career")(self._on_command)
        self.app.action(ACTION_HELPFUL)(self._on_vote)
        self.app.action(ACTION_NOT_HELPFUL)(self._on_vote)

    @property
    def client(self) -> AsyncWebClient:
        return self.app.client

    # -- lifecycle ------------------------------------------------------------------------
    async def drain(self, grace_s: float = 30.0) -> bool:
        """Wait for in-flight answers and re-ingests (graceful shutdown, tests)."""
        # Bolt starts a listener as its own task after the ack: give it a moment to begin.
        return await self.handlers.drain(grace_s, settle_s=0.05)

    async def _tracked(self, work: Coroutine[Any, Any, None]) -> None:
        self.handlers.track()
        await work

    def web_app(self) -> web.Application:
        """The aiohttp application for HTTP mode: POST /slack/events and GET /healthz."""
        app = web.Application()
        app.router.add_post("/slack/events", self._http_events)
        app.router.add_get("/healthz", self._http_health)
        return app

    async def _http_events(self, request: web.Request) -> web.Response:
        # The signature is checked on the bytes as they came, before anything reads them: an
        # unsigned request is refused whatever it holds, and only Slack's are parsed.
        raw = await request.read()
        if not self._verifier.signed(raw, request.headers):
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            bolt_request = AsyncBoltRequest(
                body=raw.decode("utf-8"),
                query=request.query_string,
                headers=request.headers,  # type: ignore[arg-type]
            )
        except (ValueError, AttributeError, TypeError) as exc:
            # Bad UTF-8 or JSON (ValueErrors), or JSON that is no object (Bolt reads its
            # fields while it builds the request).
            logger.warning("a signed Slack request could not be read (%s)", type(exc).__name__)
            return web.json_response({"error": "unreadable request body"}, status=400)
        bolt_response = await self.app.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    async def _http_health(self, request: web.Request) -> web.Response:
        status, body = await self.chat.health(self.handlers)
        return web.json_response(body, status=status)

    # -- events -----------------------------------------------------------------------------
    async def _on_event(self, body: dict[str, Any], context: Any) -> None:
        await self._tracked(self._handle_event(body, context))

    async def _handle_event(self, body: dict[str, Any], context: Any) -> None:
        message = read_message(body, context.bot_user_id)
        if message is None:
            return
        conversation = message.target.conversation_id
        # A follow-up in a thread the bot answered in needs no mention.
        if message.addressed or (
            message.thread_key and await self.chat.answered_in(conversation, message.thread_key)
        ):
            await self._answer(message.target, message.question, message.claims)

    async def _answer(self, target: Target, text: str, claims: tuple[str, ...]) -> None:
        """Answer one message in its thread, the progress reaction on it meanwhile."""

        async def reply(outcome: Replied) -> None:
            if isinstance(outcome, RateLimited):
                await self.send.tell_rate_limited(target, escape_mrkdwn(self.chat.say(outcome)))
            elif isinstance(outcome, Answered):
                first_ts = await self._post(
                    target, render_answer(outcome.answer, question=text, asker=outcome.asker)
                )
                await self.send.upload_picture(target, outcome, first_ts)
            else:
                await self._post(target, [plain_message(self.chat.say(outcome))])

        incoming = Incoming(
            "slack",
            target.user,
            target.conversation_id,
            text,
            claims,
            where=f"channel {target.channel}, user {target.user}",
        )
        await self.chat.handle_message(
            incoming, reply, working=lambda _: self.send.reacting(target)
        )

    async def _post(self, target: Target, messages: list[SlackMessage]) -> str | None:
        """Post in the target's thread; a channel thread the bot posted in is remembered."""
        first_ts = await self.send.post(target, messages)
        if target.thread_ts and not target.is_dm:
            self.chat.remember(f"slack:{target.team}:{target.channel}:{target.thread_ts}")
        return first_ts

    # -- /career ----------------------------------------------------------------------------
    async def _on_command(
        self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], respond: Any
    ) -> None:
        command = parse_command(body.get("text") or "")
        if isinstance(command, Help):
            await ack(text=help_text("ko") + "\n\n" + help_text("en"))
        elif isinstance(command, Reingest | ReportRequest):
            await self._tracked(self._admin_command(ack, body, respond, command))
        else:
            await ack()
            await self._tracked(self._command_question(body, respond, command.question))

    async def _admin_command(
        self,
        ack: Callable[..., Awaitable[Any]],
        body: dict[str, Any],
        respond: Any,
        command: Reingest | ReportRequest,
    ) -> None:
        """`/career reingest`, `/career report [7d]`: for the admins in SLACK_ADMIN_USER_IDS,
        the report privately; anyone else is told so privately."""
        origin = read_command(body)

        async def announce(outcome: ReingestOutcome) -> None:
            busy = isinstance(outcome, ReingestRefused)
            await self.send.command_reply(
                respond, origin.channel, describe(outcome, BOTH), ephemeral=busy
            )

        # The re-ingest starts before the ack, so a second request right after this one is
        # told it's busy; the report is acked before it is built.
        outcome = await self.chat.admin_command(
            "slack", origin.user, command, announce=announce, working=ack
        )
        if isinstance(outcome, ReportReady | ReportFailed):
            await self.send.command_reply(respond, "", describe(outcome, BOTH), ephemeral=True)
        elif not isinstance(outcome, Duplicate):
            await ack(text=describe(outcome, BOTH))

    async def _command_question(self, body: dict[str, Any], respond: Any, text: str) -> None:
        """`/career <question>`: a status message in the channel, updated with the answer.

        Posting with chat.postMessage (rather than only the response_url) gives the answer a
        timestamp, so the channel sees the question, votes refer to a real message and a
        reply in its thread continues the conversation. Where the bot is not a member (a DM
        between other people, a private channel) the response_url is the fallback.
        """
        origin = read_command(body)
        team, channel, user = origin.team, origin.channel, origin.user
        question = plain_question(text)
        header: list[dict[str, Any]] = []
        posted: list[str] = []  # the status message's ts once it is in the channel

        @contextlib.asynccontextmanager
        async def status(lang: str) -> AsyncIterator[str]:
            """Post "working…" under the question; its thread is the conversation."""
            asked = asked_line(user, question, lang)
            header.append(asked)
            if ts := await self.send.post_status(channel, working_message(asked, lang)):
                posted.append(ts)
            yield f"slack:{team}:{channel}:{posted[0] if posted else user}"

        async def reply(outcome: Replied) -> None:
            if isinstance(outcome, Answered):
                messages = render_answer(
                    outcome.answer, question=question, header=header, asker=outcome.asker
                )
                if not posted:
                    for message in messages[:5]:  # a response_url takes five messages
                        await respond(
                            text=message.text, blocks=message.blocks, response_type="in_channel"
                        )
                    return
                first, rest = messages[0], messages[1:]
                await self.send.update(channel, posted[0], first)
                target = Target(
                    team, channel, user, f"slack:{team}:{channel}:{posted[0]}", posted[0]
                )
                if rest:
                    await self._post(target, rest)
                self.chat.remember(target.conversation_id)
                await self.send.upload_picture(target, outcome, posted[0])
                return
            message = plain_message(self.chat.say(outcome))
            if posted:  # the apology replaces "working…"
                await self.send.update(channel, posted[0], message)
            else:
                await respond(text=message.text, response_type="ephemeral")

        incoming = Incoming(
            "slack",
            user,
            f"slack:{team}:{channel}:{user}",
            question,
            origin.claims,
            action="/career",
            where=f"channel {channel}",
        )
        await self.chat.handle_message(incoming, reply, working=status)

    # -- feedback buttons -------------------------------------------------------------------
    async def _on_vote(
        self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], respond: Any
    ) -> None:
        await ack()
        await self._tracked(self._record_vote(body, respond))

    async def _record_vote(self, body: dict[str, Any], respond: Any) -> None:
        click = read_click(body)
        result = await self.chat.vote_on(
            "slack", click.rated, message_ref=click.message_ref, user_id=click.user, vote=click.vote
        )
        await self.send.acknowledge_vote(
            click, respond, escape_mrkdwn(describe(result, click.rated.language))
        )


def build_slack_bot(
    settings: Settings,
    advisor: AdvisorLike,
    *,
    client: AsyncWebClient | None = None,
    chat: ChatService | None = None,
) -> SlackBot:
    """The bot with its Bolt app; `client` defaults to the production Web API client and
    `chat` to a chat service of its own around `advisor`."""
    return SlackBot(
        settings, chat or build_chat_service(settings, advisor), client or make_web_client(settings)
    )


def build_slack_app(
    settings: Settings, advisor: AdvisorLike, *, client: AsyncWebClient | None = None
) -> AsyncApp:
    """An AsyncApp with every listener registered (events, /career, feedback buttons)."""
    return build_slack_bot(settings, advisor, client=client).app


def check_settings(settings: Settings, *, http: bool) -> None:
    """`Settings.check_slack`, failing as the SlackConfigError the entry points catch."""
    try:
        settings.check_slack(http=http)
    except SettingsError as exc:
        raise SlackConfigError(str(exc)) from None


async def run_slack(
    settings: Settings,
    *,
    http: bool,
    host: str,
    port: int,
    chat: ChatService | None = None,
) -> None:
    """Run the Slack bot until cancelled: Socket Mode by default, HTTP with `http=True`; on
    `chat` when given (the main job's, shared with Discord), else on a service of its own."""
    check_settings(settings, http=http)
    client = make_web_client(settings)
    # A bad bot token would otherwise show only at the first request, as a failed reply.
    await _checked(client.auth_test(), "SLACK_BOT_TOKEN", settings)
    async with serving(settings, chat) as service:
        await _serve(SlackBot(settings, service, client), http, host, port)


async def _checked(
    call: Awaitable[AsyncSlackResponse], setting: str, settings: Settings
) -> AsyncSlackResponse:
    """The answer to a start-up call made with the token in `setting`; a refused token, or no
    answer at all, stops the bot with a message that says which (never the token)."""
    try:
        return await call
    except SlackApiError as exc:
        error = exc.response.get("error")
        if error not in _TOKEN_REFUSED:
            raise
        raise SlackConfigError(f"Slack refused {setting} ({error}): {_WHERE[setting]}") from None
    except (aiohttp.ClientError, TimeoutError) as exc:
        host = urlsplit(settings.slack_api_url).hostname
        raise SlackUnreachable(
            f"Slack could not be reached at {host} (SLACK_API_URL) to check {setting}: "
            f"{type(exc).__name__}. Check the network or proxy; the token was not checked."
        ) from None


async def _serve(bot: SlackBot, http: bool, host: str, port: int) -> None:
    """Serve `bot` over HTTP or Socket Mode until cancelled, then let its work finish."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    settings = bot.settings
    runner: web.AppRunner | None = None
    handler: AsyncSocketModeHandler | None = None
    try:
        if http:
            runner = web.AppRunner(bot.web_app(), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, host, port).start()
            logger.info(
                "Slack bot serving POST /slack/events and GET /healthz on %s:%d", host, port
            )
        else:
            assert settings.slack_app_token is not None
            app_token = settings.slack_app_token.get_secret_value()
            # The first connection is opened here, once: the handler's connect() retries a
            # refused app token every ping interval, with a traceback each time, forever.
            opened = await _checked(
                bot.client.apps_connections_open(app_token=app_token), "SLACK_APP_TOKEN", settings
            )
            handler = AsyncSocketModeHandler(bot.app, app_token=app_token)
            handler.client.wss_uri = opened["url"]  # connect() opens no other while it has one
            await handler.connect_async()
            logger.info("Slack bot connected in Socket Mode")
        await asyncio.Event().wait()
    finally:
        if handler is not None:
            await handler.close_async()
        if runner is not None:
            await runner.cleanup()
        await bot.drain(grace_s=10)
