"""The admins' re-ingest: ingest run again while the bot keeps answering from the old index."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from bot.advisor.knowledge import KnowledgeBase
from core.settings import Settings

#: Runs one re-ingest and returns its summary (`IngestReport.summary()`).
ReingestRun = Callable[[], Awaitable[dict[str, Any]]]


class ReingestBusy(RuntimeError):
    """Another process (a CLI ingest) holds the ingest lock."""


def make_reingest(settings: Settings, knowledge: KnowledgeBase) -> ReingestRun:
    """A re-ingest of `settings`' documents that `knowledge` serves once it is published."""

    async def reingest() -> dict[str, Any]:
        # Imported here: serving never loads the ingest pipeline until an admin asks.
        from ingest import IngestBusy, run_ingest

        try:
            report = await asyncio.to_thread(run_ingest, settings)
        except IngestBusy as exc:
            raise ReingestBusy(str(exc)) from exc
        await knowledge.refresh()
        return report.summary()

    return reingest
