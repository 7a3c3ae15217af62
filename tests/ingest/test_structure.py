"""Structure recovery on the two real documents (raw scraped text)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.structure import parse

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"


@pytest.fixture(scope="module")
def first() -> object:
    return parse((KNOWLEDGE / "working-in-a-call-center.txt").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def second() -> object:
    return parse((KNOWLEDGE / "call-center-highest-positions.txt").read_text(encoding="utf-8"))


def _headings(parsed: object) -> list[str]:
    return [s.heading for s in parsed.sections]  # type: ignore[attr-defined]


def _blocks(parsed: object, kind: str) -> list[object]:
    return [b for s in parsed.sections for b in s.blocks if b.kind == kind]  # type: ignore[attr-defined]


def test_title_and_publication_date_are_recovered(first: object) -> None:
    assert first.title == "콜센터에서 일하기: 소개, 직위 및 팁"  # type: ignore[attr-defined]
    assert first.published == "2024-03-05"  # type: ignore[attr-defined]
    # The date was glued to the first paragraph; the paragraph survives without it.
    opening = first.sections[0].blocks[0].text  # type: ignore[attr-defined]
    assert opening.startswith("오늘날 콜센터에서 일하는 것은")


def test_pipe_tables_keep_headers_and_rows(first: object) -> None:
    tables = _blocks(first, "table")
    assert [t.header for t in tables] == [  # type: ignore[attr-defined]
        ["콜센터에서 일하는 것의 장점", "콜센터에서 일하는 것의 단점"],
        ["역할", "직장"],
    ]
    assert len(tables[0].rows) == 4  # type: ignore[attr-defined]
    assert tables[1].rows[3][0] == "팀 리더"  # type: ignore[attr-defined]


def test_callout_with_trailing_pipe_is_a_paragraph_not_a_table(first: object) -> None:
    texts = [b.text for b in _blocks(first, "paragraph")]  # type: ignore[attr-defined]
    assert any(t.startswith("팁: 통화 스크립트") and not t.endswith("|") for t in texts)


def test_numbered_headings_nest_under_the_skills_heading(first: object) -> None:
    headings = _headings(first)
    skills = "해당 역할을 성공적으로 수행하기 위한 7가지 콜센터 기술"
    assert f"{skills} > 1. 고객중심의 전망" in headings
    assert f"{skills} > 7. 유연한 스케줄링" in headings


def test_bullets_and_numbered_items_become_lists(second: object) -> None:
    lists = _blocks(second, "list")
    by_first = {lst.items[0]: lst for lst in lists}  # type: ignore[attr-defined]
    assert len(by_first["개인 및 팀 목표 설정"].items) == 7  # type: ignore[attr-defined]
    paid = next(lst for lst in lists if lst.items[0].startswith("최고고객책임자(CCO)"))  # type: ignore[attr-defined]
    assert paid.ordered
    assert len(paid.items) == 5


def test_web_boilerplate_and_english_captions_are_dropped(second: object) -> None:
    dropped = second.dropped  # type: ignore[attr-defined]
    assert "Table of Contents" in dropped
    assert "Request a Demo" in dropped
    assert "Accountability in a hierarchy" in dropped
    words = " ".join(b.plain() for s in second.sections for b in s.blocks)  # type: ignore[attr-defined]
    assert "Table of Contents" not in words
    assert "Request a Demo" not in words


def test_role_sections_are_found(second: object) -> None:
    headings = _headings(second)
    for role in (
        "팀 리더/매니저/감독",
        "콜센터 상담원",
        "콜센터 매니저",
        "운영 관리자",
        "트레이너",
        "코치",
    ):
        assert role in headings


def test_markdown_headings_and_levels() -> None:
    parsed = parse(
        "# 제목\n\n## 급여\n\n시간당 임금은 다릅니다.\n\n### 신입\n\n- 항목 하나\n- 항목 둘\n",
        markdown=True,
    )
    assert parsed.title == "제목"
    assert [s.heading for s in parsed.sections] == ["급여", "급여 > 신입"]
