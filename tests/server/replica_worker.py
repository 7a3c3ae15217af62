"""A bot replica as a process: reads JSON questions from stdin, prints one JSON answer a line.

Run by the server-mode tests as `python -m tests.server.replica_worker` with the settings in
its environment (CHROMA_HOST, CHROMA_PORT, DATA_DIR, ...). It builds the advisor the way every
surface does (`build_advisor`) and keeps it alive, so the tests can see one running replica
follow the index: a re-ingest, a Chroma server that goes away and comes back.

Input lines: ``{"id": ..., "q": "..."}``. Output lines: ``{"ready": true, "generation": N}``
once the advisor is up, then per question ``{"id", "kind", "text", "chunk_ids", "generation",
"snapshot_chunks", "pointer_chunks", "ms"}``. If the advisor cannot start, one line
``{"ready": false, "error": "..."}`` and exit code 1.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from bot.advisor.advisor import Advisor, build_advisor
from bot.advisor.models import Question
from bot.state import MemoryStateStore
from core.index import IndexError_
from core.settings import Settings


def emit(payload: dict[str, object]) -> None:
    print(json.dumps(payload, ensure_ascii=False), flush=True)


async def serve(advisor: Advisor) -> None:
    """Answer stdin line by line until it closes."""
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        if not line.strip():
            continue
        item = json.loads(line)
        started = time.perf_counter()
        answer = await advisor.ask(
            Question(text=str(item["q"]), platform="test", conversation_id=f"w:{item['id']}")
        )
        # `ask` swaps the snapshot only inside `knowledge.current()`, so the one held now is
        # the one this answer was read from.
        snap = advisor.knowledge.snapshot
        emit(
            {
                "id": item["id"],
                "kind": answer.kind,
                "text": answer.text,
                "chunk_ids": answer.chunk_ids,
                "generation": answer.generation,
                "snapshot_chunks": len(snap.chunks) if snap is not None else None,
                "pointer_chunks": snap.pointer.chunks if snap is not None else None,
                "ms": round((time.perf_counter() - started) * 1000, 1),
            }
        )


async def main() -> int:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    try:
        advisor = await build_advisor(settings, state=MemoryStateStore(), warm=True)
    except IndexError_ as exc:
        emit({"ready": False, "error": str(exc)})
        return 1
    snap = advisor.knowledge.snapshot
    emit({"ready": True, "generation": snap.generation if snap is not None else None})
    try:
        await serve(advisor)
    finally:
        await advisor.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
