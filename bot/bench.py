"""`career-bot bench`: the performance figures, as medians of repeated runs on this machine."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.settings import Settings


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _questions(path: Path) -> list[str]:
    rows = [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    return [str(r["q"]) for r in rows]


def _ingest(settings: Settings, runs: int) -> tuple[float, float]:
    """(cold ingest seconds, no-change re-ingest seconds), medians, in a scratch DATA_DIR."""
    from ingest import run_ingest

    cold: list[float] = []
    again: list[float] = []
    for _ in range(runs):
        scratch = Path(tempfile.mkdtemp(prefix="career-bench-"))
        try:
            fresh = settings.model_copy(
                update={"data_dir": scratch, "chroma_host": "", "chroma_port": None}
            )
            cold.append(run_ingest(fresh).seconds)
            again.append(run_ingest(fresh).seconds)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return statistics.median(cold), statistics.median(again)


async def _asks(settings: Settings, questions: list[str], rounds: int) -> dict[str, float]:
    from bot.advisor import build_advisor
    from bot.models import Question
    from bot.state import MemoryStateStore

    advisor = await build_advisor(settings, state=MemoryStateStore())
    try:
        for q in questions[:10]:  # warm-up: caches, first-call costs
            await advisor.ask(Question(text=q, conversation_id="warm"))
        latencies: list[float] = []
        for r in range(rounds):
            for n, q in enumerate(questions):
                t0 = time.perf_counter()
                await advisor.ask(Question(text=q, conversation_id=f"bench:{r}:{n}"))
                latencies.append((time.perf_counter() - t0) * 1000)
        throughput: dict[str, float] = {}
        for concurrency in (1, 4, 16):
            gate = asyncio.Semaphore(concurrency)

            async def one(
                n: int, q: str, gate: asyncio.Semaphore = gate, c: int = concurrency
            ) -> None:
                async with gate:
                    await advisor.ask(Question(text=q, conversation_id=f"tp:{c}:{n}"))

            t0 = time.perf_counter()
            await asyncio.gather(*(one(n, q) for n, q in enumerate(questions)))
            throughput[f"answers_per_s_c{concurrency}"] = len(questions) / (
                time.perf_counter() - t0
            )
        return {
            "ask_p50_ms": statistics.median(latencies),
            "ask_p95_ms": _pct(latencies, 0.95),
            **throughput,
        }
    finally:
        await advisor.close()


def _process(settings: Settings, runs: int) -> tuple[float, float]:
    """(`career-bot ask` start-to-answer seconds, median; peak RSS in MB of a bot process)."""
    env = {
        **os.environ,
        "DATA_DIR": str(settings.data_dir),
        "KNOWLEDGE_DIR": str(settings.knowledge_dir),
    }
    exe = [sys.executable, "-m", "bot.cli"]
    times: list[float] = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(
            [*exe, "ask", "콜센터에서 가장 높은 직책은?"], env=env, check=True, capture_output=True
        )
        times.append(time.perf_counter() - t0)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    batch = "\n".join(json.dumps({"q": q}, ensure_ascii=False) for q in ["팀 리더의 기술은?"] * 30)
    subprocess.run(
        [*exe, "ask", "--jsonl"], env=env, input=batch.encode(), check=True, capture_output=True
    )
    peak_kb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)
    return statistics.median(times), peak_kb / 1024


def run_bench(settings: Settings, questions_file: Path, *, quick: bool = False) -> dict[str, Any]:
    """Measure everything; `quick` uses fewer repetitions (for a smoke run)."""
    started = time.perf_counter()
    questions = _questions(questions_file)
    cold, nochange = _ingest(settings, runs=1 if quick else 3)
    asks = asyncio.run(_asks(settings, questions, rounds=1 if quick else 3))
    process_s, rss_mb = _process(settings, runs=1 if quick else 3)
    return {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "questions": len(questions),
        "ingest_cold_s": round(cold, 2),
        "reingest_nochange_s": round(nochange, 3),
        "ask_p50_ms": round(asks["ask_p50_ms"], 1),
        "ask_p95_ms": round(asks["ask_p95_ms"], 1),
        "answers_per_s_c1": round(asks["answers_per_s_c1"], 1),
        "answers_per_s_c4": round(asks["answers_per_s_c4"], 1),
        "answers_per_s_c16": round(asks["answers_per_s_c16"], 1),
        "ask_process_s": round(process_s, 2),
        "rss_mb": round(rss_mb, 1),
        "bench_seconds": round(time.perf_counter() - started, 1),
    }
