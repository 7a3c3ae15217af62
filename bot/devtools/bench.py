"""`career-bot bench`: the performance figures, measured on this machine.

1. Ingest: cold builds and no-change re-runs, in a scratch DATA_DIR (medians).
2. In-process answers (warm, no LLM): latency of each question over the plan's rounds, and
   throughput with 1, 4 and 16 concurrent askers.
3. `career-bot ask` as a process: start-to-answer time (median), and the peak memory of
   `ask --jsonl`.
4. The Slack HTTP endpoint: a signed `app_mention` per question to a real
   `career-bot slack --http` process whose Slack is a loopback `FakeSlack`, timed to its
   `chat.postMessage`; first one replica on the index as configured (its peak memory is the
   bot's), then two replicas sharing a Chroma server and one state store: PostgreSQL at
   `career-bot bench --state-url` when it is given, else a scratch SQLite file (never the configured
   STATE_URL, which may be production's).
5. Query cost against the corpus size: the retrieval an answer runs (query embedding, Chroma,
   BM25, fusion) and a whole answer, on synthetic indexes of 10,000 and 50,000 chunks
   (`bot.devtools.synthetic`: generated, never committed), each timed question by question paired with
   the real index so the growth ratio does not move with the machine's load.
   `retrieval_growth_*` leaves out the query embedding, whose cost does not depend on the
   corpus: it is the growth of the Chroma and BM25 parts alone. Writing 50,000 chunks through
   Chroma is most of a first run's time, so that index is kept under DATA_DIR/bench for later
   runs until the documents are re-ingested. Figures of a synthetic index are keyed by its
   size (`_10k`, `_50k`; a quick run's `_1k`, `_5k`).

Every p50 and p95 is the nearest-rank percentile of `bot.devtools.loopback.slack_load.percentile`.

`phases_s` and `phases_cpu_s` say where the time went; `bench_cpu_s` is what the run cost in
CPU, which other work on the machine does not stretch the way it stretches the wall clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import platform
import resource
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.devtools.loopback.processes import bot_command
from bot.devtools.loopback.slack_load import LoadReport, percentile
from core.settings import Settings

#: Tokens for the bot processes talking to the loopback Slack (never a real workspace).
BOT_TOKEN = "xoxb-0000-0000-benchloopback"


@dataclass(frozen=True)
class Plan:
    """How much of everything to measure."""

    ingest_runs: int
    reingest_runs: int  # no-change re-runs after each cold one
    ask_rounds: int
    process_runs: int
    slack_questions: int
    slack_concurrency: int
    synthetic_sizes: tuple[int, int]
    corpus_ask_every: int  # every n-th question is also answered in full on each corpus

    @classmethod
    def for_mode(cls, quick: bool) -> Plan:
        if quick:  # a smoke run: every figure, each from less work
            return cls(1, 1, 1, 1, 40, 20, (1_000, 5_000), 1)
        return cls(3, 3, 3, 3, 200, 20, (10_000, 50_000), 3)


def size_label(chunks: int) -> str:
    """The key suffix of a synthetic index's figures: `10k` for 10,000 chunks."""
    return f"{chunks // 1000}k" if chunks % 1000 == 0 else str(chunks)


def _questions(path: Path) -> list[str]:
    rows = [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    return [str(r["q"]) for r in rows]


@contextmanager
def _scratch(name: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"career-bench-{name}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# -- 1. ingest -------------------------------------------------------------------------------


def _ingest(settings: Settings, runs: int, again_runs: int) -> tuple[float, float]:
    """(cold ingest seconds, no-change re-ingest seconds), medians, in a scratch DATA_DIR."""
    from ingest import run_ingest

    cold: list[float] = []
    again: list[float] = []
    for _ in range(runs):
        with _scratch("ingest") as scratch:
            fresh = settings.model_copy(
                update={"data_dir": scratch, "chroma_host": "", "chroma_port": None}
            )
            cold.append(run_ingest(fresh).seconds)
            again.extend(run_ingest(fresh).seconds for _ in range(again_runs))
    return percentile(cold, 0.5), percentile(again, 0.5)


# -- 2. in-process answers -----------------------------------------------------------------


async def _asks(settings: Settings, questions: list[str], rounds: int) -> dict[str, float]:
    from bot.advisor.advisor import build_advisor
    from bot.advisor.models import Question
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
            "ask_p50_ms": percentile(latencies, 0.5),
            "ask_p95_ms": percentile(latencies, 0.95),
            **throughput,
        }
    finally:
        await advisor.close()


# -- 3. the command as a process -----------------------------------------------------------


def _index_env(settings: Settings) -> dict[str, str]:
    """The environment that points a bot process at the same index as `settings`."""
    return {
        "KNOWLEDGE_DIR": str(settings.knowledge_dir.resolve()),
        "DATA_DIR": str(settings.data_dir.resolve()),
        "CHROMA_HOST": settings.chroma_host,
        "CHROMA_PORT": str(settings.chroma_port or ""),
        "COLLECTION_PREFIX": settings.collection_prefix,
        "EMBEDDINGS": settings.embeddings,
        "LLM_PROVIDER": "none",
        "LOG_LEVEL": "WARNING",
        "ANONYMIZED_TELEMETRY": "False",
    }


def _process(settings: Settings, runs: int) -> tuple[float, float]:
    """(`career-bot ask` start-to-answer seconds, median; peak RSS in MB of `ask --jsonl`)."""
    with _scratch("process") as scratch:
        env = {
            **os.environ,
            **_index_env(settings),
            "STATE_URL": f"sqlite+aiosqlite:///{scratch / 'state.sqlite3'}",
        }
        times: list[float] = []
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run(
                [*bot_command(), "ask", "콜센터에서 가장 높은 직책은?"],
                env=env,
                check=True,
                capture_output=True,
            )
            times.append(time.perf_counter() - t0)
        batch = scratch / "batch.jsonl"
        batch.write_text(
            "\n".join(json.dumps({"q": q}, ensure_ascii=False) for q in ["팀 리더의 기술은?"] * 30),
            encoding="utf-8",
        )
        with batch.open("rb") as stdin:
            peak_mb = _peak_rss_mb([*bot_command(), "ask", "--jsonl"], env, stdin)
    return percentile(times, 0.5), peak_mb


def _peak_rss_mb(command: list[str], env: dict[str, str], stdin: Any) -> float:
    """Peak resident memory of one process, read from /proc while it runs.

    Not getrusage(RUSAGE_CHILDREN): a child's ru_maxrss starts from the RSS of the process
    that forked it (the kernel keeps the larger of the pre-exec and post-exec peaks), so it
    would report this benchmark's own memory, not the bot's.
    """
    from bot.devtools.loopback.slack_load import peak_rss_mb

    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            command, env=env, stdin=stdin, stdout=subprocess.DEVNULL, stderr=err
        )
        peak = 0.0
        while proc.poll() is None:
            with contextlib.suppress(OSError, RuntimeError):  # before exec, or just exited
                peak = max(peak, peak_rss_mb(proc.pid))
            time.sleep(0.02)
        if proc.returncode != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"{command} failed ({proc.returncode}): {tail}")
    return peak


# -- 4. the Slack HTTP endpoint ------------------------------------------------------------


def _state_for_replicas(scratch: Path, url: str = "") -> tuple[str, str]:
    """(STATE_URL, kind) for two replicas: `url` (`bench --state-url`) when it is PostgreSQL,
    else one scratch SQLite file both replicas open. Never the configured STATE_URL: the run
    writes a few hundred made-up conversations, which have no place in a real state store."""
    if url.startswith("postgresql"):
        return url, "postgresql"
    return f"sqlite+aiosqlite:///{scratch / 'shared-state.sqlite3'}", "sqlite"


def _figures(report: LoadReport, suffix: str = "") -> dict[str, Any]:
    """The Slack figures of one measured load, each key ending in `suffix`."""
    once = sum(1 for n in report.answers_per_question if n == 1)
    figures = {
        "slack_p50_ms": report.p50_ms,
        "slack_p95_ms": report.p95_ms,
        "slack_answered_once": f"{once}/{len(report.answers_per_question)}",
        "slack_duplicates": report.duplicates,
        "slack_missing": report.missing,
        "slack_answers_per_s": report.answers_per_s,
    }
    return {f"{key}{suffix}": value for key, value in figures.items()}


async def _drive(
    fake: Any, urls: list[str], questions: list[str], plan: Plan, secret: str
) -> LoadReport:
    """Warm each replica with a few questions, then send the measured ones."""
    from bot.devtools.loopback.slack_load import run_load

    await run_load(
        fake,
        urls,
        questions[: 3 * len(urls)],
        signing_secret=secret,
        concurrency=4,
    )
    asked = list(itertools.islice(itertools.cycle(questions), plan.slack_questions))
    return await run_load(
        fake,
        urls,
        asked,
        signing_secret=secret,
        concurrency=plan.slack_concurrency,
        timeout_s=180,
    )


def _ingest_into(chroma_env: dict[str, str], settings: Settings, scratch: Path) -> None:
    """`career-bot ingest` into the Chroma server (its own DATA_DIR for the lock file)."""
    env = {
        **os.environ,
        **_index_env(settings),
        **chroma_env,
        "DATA_DIR": str(scratch / "ingest-data"),
    }
    subprocess.run(
        [*bot_command(), "ingest", "--json"], env=env, cwd=scratch, check=True, capture_output=True
    )


async def _slack(
    settings: Settings, questions: list[str], plan: Plan, state_url: str = ""
) -> dict[str, Any]:
    from bot.devtools.loopback.processes import ChromaServer, free_port
    from bot.devtools.loopback.slack import FakeSlack
    from bot.devtools.loopback.slack_load import peak_rss_mb, start_replica, stop_replica

    secret = secrets.token_hex(16)
    fake = await FakeSlack(bot_token=BOT_TOKEN).start()
    slack_env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": secret,
        "SLACK_APP_TOKEN": "",
        "SLACK_API_URL": fake.api_url,
    }

    def start(env: dict[str, str], log: Path) -> tuple[Any, str]:
        port = free_port()
        return start_replica(env, port, log), f"http://127.0.0.1:{port}"

    out: dict[str, Any] = {}
    try:
        with _scratch("slack") as scratch:
            env = {
                **_index_env(settings),
                **slack_env,
                "STATE_URL": f"sqlite+aiosqlite:///{scratch / 'state.sqlite3'}",
            }
            proc, url = await asyncio.to_thread(start, env, scratch / "replica.log")
            try:
                one = await _drive(fake, [url], questions, plan, secret)
                out["rss_mb"] = peak_rss_mb(proc.pid)
            finally:
                await asyncio.to_thread(stop_replica, proc)
            out |= _figures(one)

        with _scratch("replicas") as scratch:
            state_url, kind = _state_for_replicas(scratch, state_url)
            chroma = ChromaServer(scratch / "chroma", log=scratch / "chroma.log")
            await asyncio.to_thread(chroma.start)
            procs: list[Any] = []
            try:
                chroma_env = {"CHROMA_HOST": chroma.host, "CHROMA_PORT": str(chroma.port)}
                await asyncio.to_thread(_ingest_into, chroma_env, settings, scratch)
                envs = [
                    {
                        **_index_env(settings),
                        **slack_env,
                        **chroma_env,
                        "STATE_URL": state_url,
                        "DATA_DIR": str(scratch / f"replica-{n}"),
                    }
                    for n in range(2)
                ]
                started = await asyncio.gather(
                    *(
                        asyncio.to_thread(start, e, scratch / f"replica-{n}.log")
                        for n, e in enumerate(envs)
                    ),
                    return_exceptions=True,
                )
                ok = [s for s in started if isinstance(s, tuple)]
                procs = [p for p, _ in ok]
                failed = [s for s in started if isinstance(s, BaseException)]
                if failed:
                    raise failed[0]
                two = await _drive(fake, [u for _, u in ok], questions, plan, secret)
                out["rss_mb_2replicas"] = max(peak_rss_mb(p.pid) for p in procs)
            finally:
                await asyncio.gather(*(asyncio.to_thread(stop_replica, p) for p in procs))
                await asyncio.to_thread(chroma.stop)
            out |= {"replicas_state": kind, **_figures(two, "_2replicas")}
    finally:
        await fake.close()
    return out


# -- 5. query cost against the corpus size ---------------------------------------------------


@dataclass
class _Served:
    """An index loaded by a real advisor, with the questions read against it."""

    name: str
    advisor: Any
    snap: Any
    readings: list[Any]
    load_s: float

    @classmethod
    async def open(cls, name: str, settings: Settings, questions: list[str]) -> _Served:
        from bot.advisor.advisor import build_advisor
        from bot.advisor.analysis import language_of
        from bot.state import MemoryStateStore

        advisor = await build_advisor(settings, state=MemoryStateStore(), warm=False)
        t0 = time.perf_counter()
        snap = await advisor.knowledge.current()
        load_s = time.perf_counter() - t0
        await advisor.warm_up()
        readings = [advisor.read(q, language_of(q), snap, []) for q in questions]
        for reading in readings[:5]:
            advisor.retriever.search(snap, reading)
        return cls(name, advisor, snap, readings, load_s)


async def _paired(
    served: list[_Served], questions: list[str], ask_every: int
) -> dict[str, dict[str, list[float]]]:
    """Time every question's retrieval (query embedding, Chroma, BM25, fusion:
    `HybridRetriever.search`; "retrieval" is its Chroma and BM25 parts alone), and every
    `ask_every`-th question's whole answer, on each index back to back in alternating order,
    so a change in the machine's load falls on all alike."""
    from bot.advisor.models import Question

    times: dict[str, dict[str, list[float]]] = {
        s.name: {"query": [], "retrieval": [], "ask": []} for s in served
    }
    for n, q in enumerate(questions):
        order = served if n % 2 == 0 else served[::-1]
        for s in order:
            t0 = time.perf_counter()
            found = s.advisor.retriever.search(s.snap, s.readings[n])
            times[s.name]["query"].append((time.perf_counter() - t0) * 1000)
            times[s.name]["retrieval"].append(found.dense_ms + found.lexical_ms)
        if n % ask_every:
            continue
        for s in order:
            t0 = time.perf_counter()
            await s.advisor.ask(Question(text=q, conversation_id=f"{s.name}:{n}"))
            times[s.name]["ask"].append((time.perf_counter() - t0) * 1000)
    return times


async def _corpus(settings: Settings, questions: list[str], plan: Plan) -> dict[str, Any]:
    """Query cost on the real index and on synthetic ones of the plan's two sizes, each timed
    paired with the real one and keyed by `size_label`. The larger synthetic index is kept for
    later runs (under DATA_DIR/bench, until the documents are re-ingested;
    `synthetic_write_s_50k` is then the time the run that made it took to write it); the
    smaller one is made each run."""
    from bot.devtools.synthetic import SyntheticCache, SyntheticIndex

    small, large = plan.synthetic_sizes
    cache = SyntheticCache(settings.data_dir.resolve() / "bench", settings)
    out: dict[str, Any] = {}
    base_query: list[float] = []
    base = await _Served.open("real", settings, questions)

    async def measure(label: str, target: Settings, write_s: float) -> None:
        other = await _Served.open(label, target, questions)
        try:
            times = await _paired([base, other], questions, plan.corpus_ask_every)
        finally:
            await other.advisor.close()
        real, big = times["real"], times[label]
        base_query.extend(real["query"])

        def growth(what: str) -> float:
            return percentile(big[what], 0.5) / percentile(real[what], 0.5)

        out.update(
            {
                f"query_p50_ms_{label}": percentile(big["query"], 0.5),
                f"query_p95_ms_{label}": percentile(big["query"], 0.95),
                f"ask_p50_ms_{label}": percentile(big["ask"], 0.5),
                f"query_growth_{label}": growth("query"),
                f"retrieval_growth_{label}": growth("retrieval"),
                f"ask_growth_{label}": growth("ask"),
                f"synthetic_chunks_{label}": len(other.snap.chunks),
                f"synthetic_write_s_{label}": write_s,
                f"synthetic_load_s_{label}": other.load_s,
            }
        )

    try:
        with _scratch("synthetic") as scratch:
            kept = cache.ready(large)
            out[f"synthetic_kept_{size_label(large)}"] = kept is not None
            index = SyntheticIndex(settings, scratch) if kept else cache.start(large)
            written = await asyncio.to_thread(index.grow_to, small)
            await measure(size_label(small), index.settings, written)
            if kept is None:  # grow this one, and keep it
                written += await asyncio.to_thread(index.grow_to, large)
                cache.keep(index, written)
                kept = index.settings, written
            await measure(size_label(large), *kept)
    finally:
        await base.advisor.close()
    return {
        "query_p50_ms": percentile(base_query, 0.5),
        "query_p95_ms": percentile(base_query, 0.95),
        **out,
    }


# -- the whole run ---------------------------------------------------------------------------


def run_bench(
    settings: Settings, questions_file: Path, *, quick: bool = False, state_url: str = ""
) -> dict[str, Any]:
    """Measure everything; `quick` measures each figure from less work (a smoke run).

    `state_url` is the PostgreSQL the two-replica run shares (`--state-url`); without it a
    scratch SQLite file.
    """
    started = time.perf_counter()
    cpu_started = _cpu_s()
    plan = Plan.for_mode(quick)
    settings = settings.model_copy(update={"llm_provider": "none"})
    questions = _questions(questions_file)
    phases: dict[str, float] = {}
    phases_cpu: dict[str, float] = {}
    cpu = [cpu_started]

    def phase(name: str, t0: float) -> float:
        now, used = time.perf_counter(), _cpu_s()
        phases[name] = round(now - t0, 1)
        phases_cpu[name] = round(used - cpu[0], 1)
        cpu[0] = used
        return now

    t = time.perf_counter()
    cold, nochange = _ingest(settings, plan.ingest_runs, plan.reingest_runs)
    t = phase("ingest", t)
    asks = asyncio.run(_asks(settings, questions, plan.ask_rounds))
    t = phase("asks", t)
    process_s, rss_cli = _process(settings, plan.process_runs)
    t = phase("process", t)
    slack = asyncio.run(_slack(settings, questions, plan, state_url))
    t = phase("slack", t)
    corpus = asyncio.run(_corpus(settings, questions, plan))
    phase("corpus", t)
    result: dict[str, Any] = {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "mode": "quick" if quick else "full",
        "questions": len(questions),
        "ingest_cold_s": cold,
        "reingest_nochange_s": nochange,
        **asks,
        "ask_process_s": process_s,
        **slack,
        "rss_mb_cli": rss_cli,
        **corpus,
        "phases_s": phases,
        "phases_cpu_s": phases_cpu,
        "bench_seconds": time.perf_counter() - started,
        "bench_cpu_s": _cpu_s() - cpu_started,
    }
    return {k: _rounded(k, v) for k, v in result.items()}


def _cpu_s() -> float:
    """CPU seconds of this process and of the bot processes it ran (once they ended)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _rounded(key: str, value: Any) -> Any:
    if not isinstance(value, float):
        return value
    if key == "reingest_nochange_s":
        return round(value, 3)
    if "_ms" in key or key.startswith(("answers_per_s_c", "rss_mb")):
        return round(value, 1)
    return round(value, 2)
