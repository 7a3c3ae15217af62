"""Sending replies to Discord: the messages of an answer or a notice (with the vote buttons,
the picture, plain text when Discord refuses the card), what only the asker sees, the
re-ingest's announcement and "typing…". The cog (`discord_app.py`) decides what to send; this
sends it, pinging nobody.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import discord

from bot.chat import outcomes
from bot.chat.discord_embeds import (
    NO_PINGS,
    Reply,
    VoteHandler,
    VoteView,
    render_answered,
    render_help,
    render_plain_answer,
    render_text,
    with_picture,
)

logger = logging.getLogger(__name__)

#: channel.send or interaction.followup.send
Post = Callable[..., Awaitable[Any]]


@contextlib.asynccontextmanager
async def typing(channel: discord.abc.Messageable) -> AsyncIterator[None]:
    """Show "typing…" while the body runs; failing to show it never blocks the answer."""
    indicator = channel.typing()
    entered = False
    try:
        await indicator.__aenter__()
        entered = True
    except discord.HTTPException as exc:
        logger.debug("could not show typing: %s", exc)
    try:
        yield
    finally:
        if entered:
            await indicator.__aexit__(None, None, None)


class DiscordReplies:
    """The Discord calls that deliver replies; `on_vote` handles the buttons an answer gets."""

    def __init__(self, on_vote: VoteHandler) -> None:
        self._on_vote = on_vote

    async def answer(
        self,
        post: Post,
        answered: outcomes.Answered,
        *,
        first: dict[str, Any] | None = None,
        sent: list[Any] | None = None,
    ) -> None:
        """The answer card (or the advisor's plain message); plain text if Discord refuses
        the embed, so the user always gets the answer."""
        answer, picture = answered.answer, answered.picture
        sent = [] if sent is None else sent
        try:
            await self.messages(
                post,
                render_answered(answered),
                language=answer.language,
                first=with_picture(first, picture),
                sent=sent,
            )
        except discord.HTTPException as exc:
            if exc.status != 400 or not answered.ratable:
                raise
            logger.warning("Discord refused the answer card (%s); sending plain text", exc.text)
            plain = render_plain_answer(answer)
            await self.messages(
                post, plain, first=None if sent else with_picture(first, picture), sent=sent
            )

    async def messages(
        self,
        post: Post,
        replies: list[Reply],
        *,
        language: str = "ko",
        first: dict[str, Any] | None = None,
        sent: list[Any] | None = None,
    ) -> None:
        """Post the messages in order with `post` (channel.send or followup.send), pinging
        nobody; `first` holds extra arguments for the first one (the reply reference)."""
        for i, reply in enumerate(replies):
            kwargs = reply.send_args() | (first if i == 0 and first else {})
            view = VoteView(self._on_vote, language) if reply.votes else None
            if view is not None:
                kwargs["view"] = view
            message = await post(**kwargs)
            if sent is not None:
                sent.append(message)
            if view is not None:
                # The persistent view from setup_hook handles every click; dropping this copy
                # keeps discord.py's view store from growing with each answer.
                view.stop()

    async def ephemeral(
        self, interaction: discord.Interaction, message: str, *, replace_thinking: bool = True
    ) -> None:
        """Tell only the user. After a public defer the first follow-up would take over the
        public "thinking…" message, so that message is deleted first."""
        content = render_text(message, markdown=True)[0].content
        if not interaction.response.is_done():
            await interaction.response.send_message(
                content, ephemeral=True, allowed_mentions=NO_PINGS
            )
            return
        if replace_thinking:
            with contextlib.suppress(discord.HTTPException):
                await interaction.delete_original_response()
        await interaction.followup.send(content, ephemeral=True, allowed_mentions=NO_PINGS)

    async def announce(self, interaction: discord.Interaction, message: str) -> None:
        """A public follow-up in the command's channel, or a plain channel message once the
        15-minute interaction token has expired."""
        replies = render_text(message, markdown=True)
        try:
            await self.messages(interaction.followup.send, replies)
            return
        except discord.HTTPException as exc:
            logger.info("re-ingest follow-up failed (%s); posting in the channel", exc.status)
        channel = interaction.channel
        if isinstance(channel, discord.abc.Messageable):
            with contextlib.suppress(discord.HTTPException):
                await self.messages(channel.send, replies)

    async def help(self, interaction: discord.Interaction, language: str) -> None:
        await interaction.response.send_message(
            embed=render_help(language), ephemeral=True, allowed_mentions=NO_PINGS
        )
