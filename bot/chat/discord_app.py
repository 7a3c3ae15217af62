"""The Discord surface: a thin discord.py 2.x adapter around the chat service.

It only translates: a mention, a DM, a `/career` or `/career-admin` slash command or a feedback
click becomes a call of the chat service; its typed outcome becomes the reply, rendered by
`bot.chat.discord_embeds` (an answer an embed card with persistent helpful / not helpful
buttons). Everything it sends pings nobody (`AllowedMentions.none()` on the bot and on every
send).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
from collections.abc import Callable
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot.chat import outcomes
from bot.chat import service as chat_rules
from bot.chat.discord_embeds import (
    NO_PINGS,
    VoteView,
    addressed_text,
    read_answer_message,
    render_notice,
    render_report,
)
from bot.chat.discord_replies import DiscordReplies, typing
from bot.chat.language import reply_language
from bot.chat.outcomes import ReportRequest
from bot.chat.phrases import describe, phrase
from bot.chat.service import AdvisorLike, ChatService
from core.settings import Settings, SettingsError

logger = logging.getLogger(__name__)


class DiscordSetupError(RuntimeError):
    """The Discord bot cannot start; the message says which setting or portal switch to fix."""


def conversation_id(channel_id: int | None, user_id: int, *, guild_id: int | None) -> str:
    """The conversation the advisor remembers: one per user and channel (or DM), so a mention
    and `/career ask` in the same channel continue one conversation. It starts with the guild
    ("dm" outside one), so a guild admin's report can hold only that guild's questions."""
    return f"discord:{guild_id if guild_id is not None else 'dm'}:{channel_id}:{user_id}"


#: Discord's error code for a second response to one interaction (another replica's).
_ALREADY_ACKNOWLEDGED = 40060


def _claim_key(interaction: discord.Interaction) -> str:
    """The exactly-once key of a slash command or button click."""
    return f"discord:interaction:{interaction.id}"


# -- the cog --------------------------------------------------------------------------------------
class CareerCog(commands.Cog):
    """Mentions, DMs, `/career` commands and feedback, translated to and from the advisor."""

    career = app_commands.Group(
        name="career", description="콜센터 경력 도우미 · Call-center career advisor"
    )
    #: The admin commands, a group of their own so Discord hides it from members without
    #: Manage Server, and offers it in servers only (what `app_commands.guild_only` sets on a
    #: command: the flag and the context). Only a hint a server owner can change in the
    #: server's integration settings: `_admin_command` still decides.
    career_admin = app_commands.Group(
        name="career-admin",
        description="관리자 명령 · Admin commands",
        guild_only=True,
        allowed_contexts=app_commands.AppCommandContext(guild=True),
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, bot: commands.Bot, settings: Settings, chat: ChatService) -> None:
        self.bot = bot
        self.settings = settings
        self.chat = chat
        #: The handlers still running: discord.py runs each event in a task of its own.
        self.handlers = chat_rules.Handlers(chat)
        self.send = DiscordReplies(self.record_vote)

    async def cog_unload(self) -> None:
        for task in self.chat.in_flight:
            task.cancel()

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Every `/career` and `/career-admin` command passes here first, in its handler's
        task: track it."""
        self.handlers.track()
        return True

    async def drain(self, grace_s: float = 30.0) -> bool:
        """Wait for the handlers and re-ingests still running; True once none is left, False
        if some still run after `grace_s`. Tests wait on it before asserting an absence.

        A handler counts from its first step: discord.py creates its task while it reads the
        event, so every event the bot has read by now is waited for."""
        return await self.handlers.drain(grace_s)

    # -- messages ------------------------------------------------------------------------------
    @commands.Cog.listener("on_message")
    async def on_message(self, message: discord.Message) -> None:
        """Answer a mention, a reply to the bot, or any DM, as a reply to that message."""
        self.handlers.track()
        me = self.bot.user
        question = addressed_text(message, me) if me is not None else None
        if question is None:
            return
        channel = message.channel
        first = {"reference": message.to_reference(fail_if_not_exists=False)}

        async def reply(outcome: outcomes.Replied) -> None:
            if isinstance(outcome, outcomes.Answered):
                await self.send.answer(channel.send, outcome, first=first)
            else:
                await self.send.messages(channel.send, render_notice(outcome), first=first)

        incoming = outcomes.Incoming(
            "discord",
            str(message.author.id),
            conversation_id(
                channel.id, message.author.id, guild_id=getattr(message.guild, "id", None)
            ),
            question,
            (f"discord:msg:{message.id}",),
            where=f"message {message.id}",
        )
        await self.chat.handle_message(incoming, reply, working=lambda _: typing(channel))

    # -- slash commands ------------------------------------------------------------------------
    @career.command(
        name="ask", description="콜센터 경력 질문하기 · Ask a call-center career question"
    )
    @app_commands.describe(question="질문 · Your question")
    async def ask_command(self, interaction: discord.Interaction, question: str) -> None:
        """Acknowledge at once, before any store call: Discord gives an interaction 3 s to be
        answered, and a hanging store may take that long.

        The help is that acknowledgement itself (for the asker only). A question is deferred
        ("thinking…") and then answered by whoever claims the interaction; a duplicate that
        loses the claim leaves the deferred response alone, since it is the interaction's,
        not this delivery's: the winner's answer replaces it."""
        try:
            if isinstance(chat_rules.parse_command(question), outcomes.Help):
                # No claim needed: Discord refuses a second response to one interaction.
                await self.send.help(interaction, reply_language(question))
                return
            await interaction.response.defer(thinking=True)
        except discord.HTTPException as exc:
            if exc.code != _ALREADY_ACKNOWLEDGED:
                raise
            logger.debug("/career ask %s: acknowledged elsewhere", interaction.id)
            return
        sent: list[Any] = []

        async def reply(outcome: outcomes.Replied) -> None:
            if isinstance(outcome, outcomes.Answered):
                if outcome.answer.kind == "empty" or outcome.ratable:
                    post = functools.partial(interaction.followup.send, wait=True)
                    await self.send.answer(post, outcome, sent=sent)
                else:  # the advisor's own apology ("error", "unavailable"): only for the asker
                    await self.send.ephemeral(interaction, outcome.answer.text)
            elif isinstance(outcome, outcomes.Empty | outcomes.HelpAsked):
                await self.send.help(interaction, outcome.language)
            else:
                text = describe(outcome, outcome.language)
                await self.send.ephemeral(interaction, text, replace_thinking=not sent)

        incoming = outcomes.Incoming(
            "discord",
            str(interaction.user.id),
            conversation_id(
                interaction.channel_id, interaction.user.id, guild_id=interaction.guild_id
            ),
            question,
            (_claim_key(interaction),),
            action="/career ask",
        )
        await self.chat.handle_message(incoming, reply)

    @career.command(name="help", description="도움말 · What I can answer")
    async def help_command(self, interaction: discord.Interaction) -> None:
        if not await self.chat.claim(_claim_key(interaction)):
            return
        await self.send.help(interaction, reply_language("", interaction.locale))

    @career_admin.command(
        name="reingest", description="문서 재색인(관리자) · Re-index the documents (admins)"
    )
    async def reingest_command(self, interaction: discord.Interaction) -> None:
        await self._admin_command(interaction, outcomes.Reingest())

    @career_admin.command(
        name="report",
        description="부족한 지식 보고서(관리자) · What the knowledge lacks (admins)",
    )
    @app_commands.describe(period="기간 · Period, e.g. 7d, 24h, 2w")
    async def report_command(self, interaction: discord.Interaction, period: str = "7d") -> None:
        """Declined questions and down-voted answers, grouped; only the admin sees it."""
        await self._admin_command(interaction, chat_rules.report_request(period))

    async def _admin_command(
        self, interaction: discord.Interaction, command: outcomes.Reingest | ReportRequest
    ) -> None:
        """Run an admin command; the outcome only for the admin, a re-ingest's end for all."""
        language = reply_language("", interaction.locale)

        async def started() -> None:
            with contextlib.suppress(discord.HTTPException):
                await self.send.ephemeral(interaction, phrase("reingest_started", language))

        async def announce(outcome: outcomes.ReingestOutcome) -> None:
            await self.send.announce(interaction, describe(outcome, language))

        async def thinking() -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)

        # The member's permissions as Discord resolved them for this interaction; whether
        # they count here (in this guild) is the service's decision.
        permissions = interaction.permissions
        guild_id = interaction.guild_id
        manages = guild_id is not None and (permissions.manage_guild or permissions.administrator)
        outcome = await self.chat.admin_command(
            "discord",
            str(interaction.user.id),
            command,
            announce=announce,
            guild_id=str(guild_id) if guild_id is not None else None,
            manages_server=manages,
            claims=(_claim_key(interaction),),
            first=started,
            working=thinking,
        )
        if isinstance(outcome, outcomes.ReportReady | outcomes.ReportFailed):
            post = functools.partial(interaction.followup.send, ephemeral=True)
            await self.send.messages(post, render_report(outcome, language))
        elif not isinstance(outcome, outcomes.Duplicate | outcomes.ReingestStarted):
            await self.send.ephemeral(interaction, describe(outcome, language))

    async def cog_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        language = reply_language("", interaction.locale)
        failed = self.chat.failure("discord", "slash command", error, language)
        with contextlib.suppress(discord.HTTPException):
            await self.send.ephemeral(interaction, describe(failed, language))

    # -- feedback ------------------------------------------------------------------------------
    async def record_vote(self, interaction: discord.Interaction, vote: int) -> None:
        """Store a helpful / not helpful click with the answer it is about."""
        self.handlers.track()
        if not await self.chat.claim(_claim_key(interaction)):
            return
        message = interaction.message
        rated = read_answer_message(message, interaction.locale)
        result = await self.chat.vote_on(
            "discord",
            rated,
            message_ref=str(message.id if message is not None else interaction.id),
            user_id=str(interaction.user.id),
            vote=vote,
            conversation_id=conversation_id(
                interaction.channel_id, interaction.user.id, guild_id=interaction.guild_id
            ),
        )
        await self.send.ephemeral(interaction, describe(result, rated.language))


# -- the bot --------------------------------------------------------------------------------------
def api_base_url(url: str) -> str:
    """The REST base discord.py prefixes to every route: `<url>/api/v10` unless given."""
    base = url.rstrip("/")
    if not re.search(r"/api/v\d+$", base):
        base += f"/api/v{discord.http.INTERNAL_API_VERSION}"
    return base


def point_at(settings: Settings) -> Callable[[], None]:
    """Send REST and gateway traffic to DISCORD_API_BASE_URL / DISCORD_GATEWAY_URL when set.

    discord.py keeps both as class attributes (process-wide); returns a function that puts
    the previous values back.
    """
    route_base = discord.http.Route.BASE
    gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    if settings.discord_api_base_url:
        discord.http.Route.BASE = api_base_url(settings.discord_api_base_url)
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)

    def restore() -> None:
        discord.http.Route.BASE = route_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway

    return restore


def make_intents() -> discord.Intents:
    """Guilds, guild and DM messages, and message content (a privileged intent)."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = True
    return intents


class CareerBot(commands.Bot):
    """The bot: loads the cog and the persistent feedback view, syncs `/career` and
    `/career-admin` at start-up."""

    def __init__(self, settings: Settings, chat: ChatService, **options: Any) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=make_intents(),
            allowed_mentions=NO_PINGS,
            help_command=None,
            **options,
        )
        self.settings = settings
        self.chat = chat
        self._restore: Callable[[], None] | None = None
        self._cog: CareerCog | None = None

    async def login(self, token: str) -> None:
        if self._restore is None:
            self._restore = point_at(self.settings)
        await super().login(token)

    async def setup_hook(self) -> None:
        cog = CareerCog(self, self.settings, self.chat)
        await self.add_cog(cog)
        self._cog = cog
        self.add_view(VoteView(cog.record_vote))
        await self.sync_commands()

    async def drain(self, grace_s: float = 30.0) -> bool:
        """Wait for the messages, commands and clicks being handled; True once none is left
        (see `CareerCog.drain`)."""
        return await self._cog.drain(grace_s) if self._cog is not None else True

    async def sync_commands(self) -> None:
        """Guild sync (instant) for DISCORD_GUILD_IDS, else global sync. A failure is logged,
        not fatal: the bot still answers mentions and DMs."""
        guilds: list[discord.Object | None] = [
            discord.Object(id=g) for g in self.settings.discord_guild_ids
        ] or [None]
        for guild in guilds:
            where = f"guild {guild.id}" if guild is not None else "globally"
            try:
                if guild is not None:
                    self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
            except discord.HTTPException as exc:
                logger.error(
                    "could not sync slash commands %s (%s %s); is the bot in that server, "
                    "invited with the applications.commands scope?",
                    where,
                    exc.status,
                    exc.text,
                )
            else:
                logger.info("synced %d slash commands %s", len(synced), where)

    async def on_message(self, message: discord.Message, /) -> None:
        """No prefix commands: the cog answers messages (this keeps "@bot 질문" from being
        parsed as an unknown command)."""

    async def on_ready(self) -> None:
        user = self.user
        logger.info(
            "Discord bot ready as %s (%s) in %d guilds", user, user and user.id, len(self.guilds)
        )

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            if self._restore is not None:
                self._restore()
                self._restore = None


def build_discord_bot(
    settings: Settings, advisor: AdvisorLike, *, chat: ChatService | None = None, **options: Any
) -> CareerBot:
    """The Discord bot around an advisor (through `chat`, by default a chat service of its
    own); `options` go to `discord.Client` (tests lower `guild_ready_timeout`)."""
    return CareerBot(settings, chat or chat_rules.build_chat_service(settings, advisor), **options)


async def run_discord(settings: Settings, *, chat: ChatService | None = None) -> None:
    """Run the Discord bot until it is closed: on `chat` when given (the main job's, shared
    with Slack), else on a service of its own."""
    try:
        token = settings.discord_bot_token()
    except SettingsError as exc:
        raise DiscordSetupError(str(exc)) from None
    try:
        async with (
            chat_rules.serving(settings, chat) as service,
            CareerBot(settings, service) as bot,
        ):
            await bot.start(token)
    except discord.LoginFailure:
        raise DiscordSetupError(
            "Discord rejected DISCORD_TOKEN: copy the bot token again from the Developer Portal"
        ) from None
    except discord.PrivilegedIntentsRequired:
        raise DiscordSetupError(
            "Discord refused the Message Content intent: enable it under Bot > Privileged "
            "Gateway Intents in the Developer Portal"
        ) from None
