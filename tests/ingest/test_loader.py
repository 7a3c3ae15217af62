"""Reading what admins drop into knowledge/: encodings, formats, and files we must skip."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loader import UnreadableFile, decode, discover, html_to_text, load_document

KOREAN = "콜센터 상담원은 고객의 문의에 답합니다.\n팀 리더는 팀을 이끕니다.\n"


def _load(path: Path) -> object:
    return load_document(path, path.parent, 10_000)


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        (KOREAN.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + KOREAN.encode("utf-8"), "utf-8-sig"),
        (KOREAN.encode("cp949"), "cp949"),
        (KOREAN.encode("euc-kr"), "cp949"),
    ],
)
def test_korean_text_decodes_from_every_common_encoding(raw: bytes, encoding: str) -> None:
    text, used = decode(raw)
    assert text == KOREAN
    assert used == encoding


def test_bad_files_are_skipped_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02PNG\x00" * 50)
    (tmp_path / "empty.txt").write_text("  \n\n", encoding="utf-8")
    (tmp_path / "huge.txt").write_text("가" * 20_000, encoding="utf-8")
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.4")
    reasons = {}
    files, skipped = discover(tmp_path)
    for path in files:
        with pytest.raises(UnreadableFile) as err:
            _load(path)
        reasons[path.name] = str(err.value)
    assert "binary" in reasons["binary.txt"]
    assert "empty" in reasons["empty.txt"]
    assert "too large" in reasons["huge.txt"]
    assert [s.source for s in skipped] == ["notes.pdf"]
    assert "unsupported" in skipped[0].reason


def test_sidecar_metadata_and_data_files(tmp_path: Path) -> None:
    (tmp_path / "doc.txt").write_text(KOREAN, encoding="utf-8")
    (tmp_path / "doc.meta.yaml").write_text(
        "title: 상담원 안내\npublished: 2023-01-02\n", encoding="utf-8"
    )
    (tmp_path / "glossary.yaml").write_text("terms: []\n", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text(KOREAN, encoding="utf-8")
    files, skipped = discover(tmp_path)
    assert [f.name for f in files] == ["doc.txt"]
    assert skipped == []
    doc = _load(files[0])
    assert doc.title == "상담원 안내"  # type: ignore[attr-defined]
    assert doc.published == "2023-01-02"  # type: ignore[attr-defined]
    assert doc.language == "ko"  # type: ignore[attr-defined]


def test_markdown_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text(
        "---\ntitle: Guide\nlanguage: en\n---\n# Guide\n\nSome text.\n", encoding="utf-8"
    )
    doc = _load(path)
    assert (doc.title, doc.language, doc.format) == ("Guide", "en", "md")  # type: ignore[attr-defined]
    assert not doc.text.startswith("---")  # type: ignore[attr-defined]


def test_html_keeps_headings_lists_and_tables_but_not_navigation() -> None:
    html = """<html><head><title>콜센터 안내</title><script>var x = 1;</script></head><body>
    <nav>Home | Blog</nav><h1>콜센터 안내</h1><p>상담원은 전화를 받습니다.</p>
    <h2>기술</h2><ul><li>경청</li><li>공감</li></ul>
    <table><tr><th>역할</th><th>업무</th></tr><tr><td>팀 리더</td><td>팀 관리</td></tr></table>
    <footer>Copyright</footer></body></html>"""
    text, title = html_to_text(html)
    assert title == "콜센터 안내"
    lines = text.splitlines()
    assert "# 콜센터 안내" in lines
    assert "## 기술" in lines
    assert "- 경청" in lines
    assert "- 공감" in lines
    assert "역할 | 업무 |" in lines
    assert "팀 리더 | 팀 관리 |" in lines
    assert "Home" not in text
    assert "Copyright" not in text
    assert "var x" not in text
