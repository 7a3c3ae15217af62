"""Chunks of the two real documents: self-contained, never mid-sentence, without duplicates."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.index import Chunk
from core.korean import make_tokenizer
from ingest.chunker import chunk_document
from ingest.loader import load_document
from ingest.structure import parse

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"


def _chunk(name: str) -> tuple[list[Chunk], list[object]]:
    doc = load_document(KNOWLEDGE / name, KNOWLEDGE, 10_000_000)
    result = chunk_document(doc, parse(doc.text, doc.title), make_tokenizer())
    return result.chunks, result.duplicates  # type: ignore[return-value]


@pytest.fixture(scope="module")
def first() -> list[Chunk]:
    return _chunk("working-in-a-call-center.txt")[0]


@pytest.fixture(scope="module")
def second() -> tuple[list[Chunk], list[object]]:
    return _chunk("call-center-highest-positions.txt")


def test_pros_and_cons_rows_say_which_column_each_cell_is(first: list[Chunk]) -> None:
    rows = [c for c in first if c.kind == "row" and "장점과 단점" in c.section]
    assert len(rows) == 4
    for row in rows:
        assert "콜센터에서 일하는 것의 장점: " in row.text
        assert "콜센터에서 일하는 것의 단점: " in row.text
        assert {u.label for u in row.units} == {
            "콜센터에서 일하는 것의 장점",
            "콜센터에서 일하는 것의 단점",
        }
    assert any("높은 회전율로 처리" in r.text for r in rows)


def test_roles_table_yields_role_duties_records(first: list[Chunk]) -> None:
    rows = {
        c.text.split(":")[0]: c
        for c in first
        if c.kind == "row" and c.section == "콜센터 직위 및 책임"
    }
    assert set(rows) == {
        "아웃바운드 콜센터 상담원/텔레마케팅",
        "고객 서비스 담당자",
        "기술 지원 전문가",
        "팀 리더",
        "품질보증 전문가",
        "콜센터 관리자",
    }
    assert (
        rows["기술 지원 전문가"].text
        == "기술 지원 전문가: 제품 또는 서비스 문제를 원격으로 해결합니다."
    )


def test_a_list_stays_with_its_lead_in(second: tuple[list[Chunk], list[object]]) -> None:
    chunks, _ = second
    skills = next(
        c
        for c in chunks
        if c.kind == "list" and c.section == "팀 리더/매니저/감독" and "기술" in c.text
    )
    assert skills.units[0].kind == "lead"
    assert skills.units[0].text == "팀 리더는 다음과 같은 중요한 기술을 가지고 있어야 합니다:"
    assert [u.text for u in skills.units[1:3]] == ["업무 및 서비스 지식", "고객 중심"]
    # A lead-in repeated under several roles ("필수 기술:") is kept under each of them.
    leads = [c.units[0].text for c in chunks if c.kind == "list" and c.units[0].kind == "lead"]
    assert leads.count("필수 기술:") == 5


def test_prose_chunks_start_at_a_sentence(
    first: list[Chunk], second: tuple[list[Chunk], list[object]]
) -> None:
    tok = make_tokenizer()
    for chunk in [*first, *second[0]]:
        if chunk.kind != "prose":
            continue
        assert chunk.text.startswith(chunk.units[0].text)
        assert chunk.units[0].text == tok.sentences(chunk.units[0].text)[0]


def test_duplicates_are_kept_once_with_the_other_heading_recorded(
    second: tuple[list[Chunk], list[object]],
) -> None:
    chunks, duplicates = second
    sections = {c.section for c in chunks}
    assert "코치" not in sections
    trainer = [c for c in chunks if c.section == "트레이너"]
    assert trainer
    assert all("코치" in c.also_under for c in trainer)
    repeated = (
        "잘 정의된 계층 구조는 콜센터의 모든 직원에게 경력을 쌓을 수 있는 쉬운 길을 제공합니다."
    )
    holders = [c for c in chunks if repeated in c.text]
    assert len(holders) == 1
    assert "현대 콜센터 내부" in holders[0].also_under
    assert {d.heading for d in duplicates} == {"코치", "현대 콜센터 내부"}  # type: ignore[attr-defined]
    # The coach heading still leads to the trainer text in search: it is part of what is embedded.
    assert "코치" in trainer[0].embed_text


def test_every_chunk_carries_its_metadata(first: list[Chunk]) -> None:
    positions = [c.position for c in first]
    assert positions == sorted(positions) == list(range(len(first)))
    for chunk in first:
        assert chunk.source == "working-in-a-call-center.txt"
        assert chunk.title == "콜센터에서 일하기: 소개, 직위 및 팁"
        assert chunk.published == "2024-03-05"
        assert chunk.language == "ko"
        assert len(chunk.hash) == 32
        assert chunk.doc_hash
        assert chunk.tokens
    assert len({c.id for c in first}) == len(first)
