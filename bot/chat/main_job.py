"""The main job: every configured chat surface in one process, sharing one advisor."""

from __future__ import annotations

import asyncio
import logging

from core.settings import Settings

logger = logging.getLogger(__name__)


class BotSetupError(RuntimeError):
    """A configured platform cannot start; the message names the setting to fix."""


async def run_bots(settings: Settings) -> None:
    """Run Slack (Socket Mode, or HTTP when only a signing secret is set) and/or Discord.

    One advisor (index, embedder, Kiwi, state store) serves both; if either bot stops with an
    error, the other is stopped too and the error is reported.
    """
    from bot.advisor.advisor import build_advisor
    from bot.chat.discord_app import DiscordSetupError, run_discord
    from bot.chat.service import build_chat_service
    from bot.chat.slack_app import SlackConfigError, run_slack

    advisor = await build_advisor(settings)
    # One chat service for both surfaces: one re-ingest at a time, whoever asked for it.
    chat = build_chat_service(
        settings, advisor, knowledge=advisor.knowledge, embedder=advisor.retriever.embedder
    )
    chat.start_housekeeping()
    jobs: list[asyncio.Task[None]] = []
    try:
        if settings.slack_configured:
            http = settings.slack_app_token is None
            where = f"HTTP on {settings.http_host}:{settings.http_port}"
            logger.info("starting Slack (%s)", where if http else "Socket Mode")
            slack = run_slack(
                settings,
                http=http,
                host=settings.http_host,
                port=settings.http_port,
                chat=chat,
            )
            jobs.append(asyncio.create_task(slack, name="slack"))
        if settings.discord_configured:
            logger.info("starting Discord")
            jobs.append(asyncio.create_task(run_discord(settings, chat=chat), name="discord"))
        done, _ = await asyncio.wait(jobs, return_when=asyncio.FIRST_EXCEPTION)
        for job in done:
            error = job.exception()
            if isinstance(error, SlackConfigError | DiscordSetupError):
                raise BotSetupError(str(error)) from error
            if error is not None:
                raise error
    finally:
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
        await chat.close()
        await advisor.close()
