"""Getting replies to Slack through its Web API: into a thread, privately, or through a
command's or a click's response_url, with the fallbacks when Slack refuses one way.

The listeners in `bot.chat.slack_app` decide what to reply; this sends it. A cosmetic part
that fails (the progress reaction, the career-path picture) is logged, never apologised for.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.outcomes import Answered
from bot.chat.phrases import phrase
from bot.chat.slack_blocks import SlackMessage, plain_message
from bot.chat.slack_payloads import Target, VoteClick

logger = logging.getLogger(__name__)

PROGRESS_REACTION = "hourglass_flowing_sand"


class SlackReplies:
    """The Web API calls that deliver the bot's replies, over one client."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def post(self, target: Target, messages: list[SlackMessage]) -> str | None:
        """Post the messages in the target's thread; the first one's ts."""
        first_ts: str | None = None
        for message in messages:
            response = await self.client.chat_postMessage(
                channel=target.channel,
                thread_ts=target.thread_ts,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
            first_ts = first_ts or response.get("ts")
        return first_ts

    async def post_status(self, channel: str, message: SlackMessage) -> str | None:
        """Post a status message at the top of the channel; its ts, or None when Slack
        refuses (the bot is no member there) and the response_url has to do."""
        try:
            response = await self.client.chat_postMessage(
                channel=channel,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            logger.info("slack: /career falls back to response_url (%s)", exc.response.get("error"))
            return None
        return response.get("ts")

    async def update(self, channel: str, ts: str, message: SlackMessage) -> None:
        """Replace the message `ts` (a status message) with `message`."""
        await self.client.chat_update(
            channel=channel, ts=ts, text=message.text, blocks=message.blocks
        )

    async def upload_picture(
        self, target: Target, answered: Answered, first_ts: str | None
    ) -> None:
        """Upload the career-path picture into the answer's thread (files upload v2).

        The text answer is already posted: a failed upload is logged, never apologised for.
        """
        picture = answered.picture
        if picture is None:
            return
        try:
            await self.client.files_upload_v2(
                channel=target.channel,
                thread_ts=target.thread_ts or first_ts,
                file=picture.data,
                filename=picture.name,
                title=phrase("path_picture", answered.answer.language),
            )
        except Exception:
            logger.warning("slack: could not upload the career-path picture", exc_info=True)

    async def tell_rate_limited(self, target: Target, text: str) -> None:
        """The rate-limit notice for the user only (in a DM, the DM), else in the thread."""
        try:
            if target.is_dm:
                await self.client.chat_postMessage(
                    channel=target.channel, thread_ts=target.thread_ts, text=text
                )
            else:
                await self.client.chat_postEphemeral(
                    channel=target.channel, user=target.user, thread_ts=target.thread_ts, text=text
                )
        except SlackApiError as exc:
            logger.info(
                "slack: ephemeral failed (%s); replying in the thread", exc.response.get("error")
            )
            try:
                await self.client.chat_postMessage(
                    channel=target.channel, thread_ts=target.thread_ts, text=text
                )
            except SlackApiError:
                logger.exception("slack: could not send the rate-limit notice")

    @contextlib.asynccontextmanager
    async def reacting(self, target: Target) -> AsyncIterator[None]:
        """The progress reaction on the user's message while the block runs."""
        reacted = await self._react("reactions_add", target)
        try:
            yield
        finally:
            if reacted:
                await self._react("reactions_remove", target)

    async def _react(self, method: str, target: Target) -> bool:
        if not target.source_ts:
            return False
        try:
            await getattr(self.client, method)(
                channel=target.channel, timestamp=target.source_ts, name=PROGRESS_REACTION
            )
        except (SlackApiError, ClientError, TimeoutError) as exc:  # cosmetic only: missing
            # scope, already_reacted, Slack unreachable after the client's retries, ...
            error = exc.response.get("error") if isinstance(exc, SlackApiError) else repr(exc)
            logger.debug("slack: %s failed: %s", method, error)
            return False
        return True

    async def command_reply(
        self, respond: Any, channel: str, text: str, *, ephemeral: bool = False
    ) -> None:
        """Post a command's outcome in its channel, or through response_url when we can't."""
        message = plain_message(text)
        if not ephemeral:
            try:
                await self.client.chat_postMessage(
                    channel=channel, text=message.text, blocks=message.blocks
                )
                return
            except SlackApiError as exc:
                logger.info("slack: cannot post in %s (%s)", channel, exc.response.get("error"))
        try:
            await respond(
                text=message.text,
                blocks=message.blocks,
                response_type="ephemeral" if ephemeral else "in_channel",
            )
        except Exception:
            logger.exception("slack: could not deliver a command reply")

    async def acknowledge_vote(self, click: VoteClick, respond: Any, text: str) -> None:
        """Tell only the voter: through the click's response_url, else chat.postEphemeral."""
        if click.respondable:
            try:
                await respond(text=text, response_type="ephemeral", replace_original=False)
                return
            except Exception as exc:
                logger.info("slack: response_url failed (%s); using chat.postEphemeral", exc)
        try:
            await self.client.chat_postEphemeral(
                channel=click.channel, user=click.user, text=text, thread_ts=click.thread_ts
            )
        except SlackApiError as exc:
            logger.warning("slack: could not acknowledge a vote: %s", exc.response.get("error"))
