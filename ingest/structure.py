"""Recovering a document's structure from raw scraped text.

The input is what admins paste from web pages: headings are just short lines, lists are
`-`, `•` or `1.` lines, tables are `a | b |` rows under a `---|---|` rule, and the page's
navigation and calls to action are mixed in. The output is a list of sections, each with a
heading path and blocks (paragraphs, lists, tables) in order.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

_ZERO_WIDTH = re.compile(r"[\u200b-\u200f\u2060\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")
_BULLET = re.compile(r"^[-•*·▪◦●■□○]\s*(?=\S)")
_NUMBERED = re.compile(r"^(\d{1,2})[.)]\s+(?=\S)")
_TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_PUBLISHED = re.compile(
    r"^(?:게시\s*됨|게시일|작성일|published(?:\s+on)?|posted(?:\s+on)?)\s*:?\s*"
    r"(\d{4}-\d{2}-\d{2}|\d{4}\.\s?\d{1,2}\.\s?\d{1,2}\.?)\s*",
    re.I,
)
_SENTENCE_END = re.compile(r"[.!。]\s*$|[.!。]\s*\|?\s*$")
#: Web-page furniture that is never content, compared case-insensitively on the whole line.
BOILERPLATE = frozenset(
    {
        "table of contents",
        "목차",
        "request a demo",
        "데모 요청",
        "데모 신청",
        "share",
        "share this",
        "share this article",
        "공유",
        "공유하기",
        "tweet",
        "print",
        "subscribe",
        "구독",
        "구독하기",
        "read more",
        "더 보기",
        "더보기",
        "back to top",
        "맨 위로",
        "related posts",
        "관련 글",
        "관련 게시물",
        "skip to content",
        "본문 바로가기",
        "sign up",
        "log in",
        "로그인",
        "회원가입",
        "contact sales",
        "get started",
        "free trial",
        "무료 체험",
    }
)


@dataclass
class _Event:
    """One classified line (or table) of the raw text."""

    kind: str  # "blank" | "heading" | "text" | "item" | "table"
    text: str = ""
    level: int = 1
    ordered: bool = False
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Block:
    """A paragraph, a list (with the sentence that introduces it) or a table."""

    kind: str  # "paragraph" | "list" | "table"
    text: str = ""
    items: list[str] = field(default_factory=list)
    ordered: bool = False
    lead: str = ""
    context: str = ""  # the sentence before the lead-in, for search
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)

    def plain(self) -> str:
        """All of the block's words, for duplicate detection."""
        if self.kind == "paragraph":
            return self.text
        if self.kind == "list":
            return " ".join([self.lead, *self.items])
        return " ".join(" ".join(r) for r in [self.header, *self.rows])


@dataclass
class Section:
    path: list[str]
    blocks: list[Block] = field(default_factory=list)
    also_under: list[str] = field(default_factory=list)

    @property
    def heading(self) -> str:
        return " > ".join(self.path)


@dataclass
class Parsed:
    title: str
    published: str | None
    sections: list[Section]
    dropped: list[str] = field(default_factory=list)  # boilerplate lines removed, for the report


def clean_line(line: str) -> str:
    line = unicodedata.normalize("NFC", line)
    line = _ZERO_WIDTH.sub("", line)
    return _SPACES.sub(" ", line).strip()


def _hangul(text: str) -> bool:
    return any("\uac00" <= c <= "\ud7a3" for c in text)


def is_boilerplate(line: str, doc_is_korean: bool) -> bool:
    low = line.lower().strip(" .:|")
    if low in BOILERPLATE:
        return True
    # An English line in a Korean page is an image caption or a repeated English title.
    return doc_is_korean and not _hangul(line) and len(line) <= 80 and len(line.split()) >= 2


def _cells(line: str) -> list[str]:
    body = line.strip()
    body = body.removeprefix("|")
    body = body.removesuffix("|")
    return [clean_line(c) for c in body.split("|")]


def _looks_like_heading(line: str) -> bool:
    if len(line) > 50 or line.endswith((":", ",", ";")):
        return False
    if _SENTENCE_END.search(line):
        return False
    return not line.endswith(("|",))


def _normalise_date(raw: str) -> str:
    parts = re.findall(r"\d+", raw)
    return f"{int(parts[0]):04d}-{int(parts[1]):02d}-{int(parts[2]):02d}"


def parse(text: str, title_hint: str = "", markdown: bool = False) -> Parsed:
    """Split raw text into sections of blocks, dropping web boilerplate."""
    raw_lines = [clean_line(ln) for ln in text.split("\n")]
    korean = _hangul(text)
    title = title_hint
    published: str | None = None
    dropped: list[str] = []

    # First pass: classify lines into a flat stream of events.
    events: list[_Event] = []
    i = 0
    while i < len(raw_lines):
        line = raw_lines[i]
        i += 1
        if not line:
            events.append(_Event("blank"))
            continue
        m = _PUBLISHED.match(line)
        if m:
            published = published or _normalise_date(m.group(1))
            line = line[m.end() :].strip()
            if not line:
                continue
        if is_boilerplate(line, korean):
            dropped.append(line)
            continue
        # A table: a row of cells directly followed by a rule line.
        nxt = next((raw_lines[j] for j in range(i, len(raw_lines)) if raw_lines[j]), "")
        if "|" in line and _TABLE_RULE.match(nxt) and len([c for c in _cells(line) if c]) >= 2:
            header = [c for c in _cells(line)]
            while header and not header[-1]:
                header.pop()
            i = raw_lines.index(nxt, i) + 1
            rows: list[list[str]] = []
            while i < len(raw_lines) and raw_lines[i] and "|" in raw_lines[i]:
                cells = _cells(raw_lines[i])[: len(header)]
                cells += [""] * (len(header) - len(cells))
                if any(cells):
                    rows.append(cells)
                i += 1
            events.append(_Event("table", header=header, rows=rows))
            continue
        if markdown:
            hm = _MD_HEADING.match(line)
            if hm:
                events.append(_Event("heading", clean_line(hm.group(2)), level=len(hm.group(1))))
                continue
        bm = _BULLET.match(line)
        if bm:
            events.append(_Event("item", line[bm.end() :].strip(), ordered=False))
            continue
        nm = _NUMBERED.match(line)
        if nm:
            body = line[nm.end() :].strip()
            if _looks_like_heading(body):
                events.append(_Event("heading", line, level=2))
            else:
                events.append(_Event("item", body, ordered=True))
            continue
        # A stray trailing pipe marks a call-out box in scraped pages, not a table.
        if line.endswith("|") and len([c for c in _cells(line) if c]) == 1:
            line = _cells(line)[0]
        if not markdown and _looks_like_heading(line):
            events.append(_Event("heading", line, level=1))
        else:
            events.append(_Event("text", line))

    # The first heading is the document's title when it matches it (or when there is no title).
    sections: list[Section] = []
    current = Section(path=[])
    sections.append(current)
    path: list[str] = []
    seen_title = False
    for event in events:
        kind = event.kind
        if kind == "heading":
            level, heading = event.level, event.text
            if not seen_title and not any(s.blocks for s in sections):
                seen_title = True
                if not title or heading == title or heading.startswith(title[:20]):
                    title = title or heading
                    continue
            # Markdown levels are explicit; in raw text a numbered heading nests under the
            # last plain one.
            if markdown:
                depth = max(level - 1, 0) if level > 1 else 0
                path = [*path[:depth], heading]
            elif level == 2 and path:
                path = [path[0], heading]
            else:
                path = [heading]
            current = Section(path=list(path))
            sections.append(current)
        elif kind == "text":
            current.blocks.append(Block(kind="paragraph", text=event.text))
        elif kind == "item":
            ordered, body = event.ordered, event.text
            last = current.blocks[-1] if current.blocks else None
            if last is not None and last.kind == "list" and last.ordered == ordered:
                last.items.append(body)
            else:
                current.blocks.append(Block(kind="list", items=[body], ordered=ordered))
        elif kind == "table":
            current.blocks.append(Block(kind="table", header=event.header, rows=event.rows))
        # blanks only separate things; paragraphs are already one per line
    return Parsed(
        title=title,
        published=published,
        sections=[s for s in sections if s.blocks],
        dropped=dropped,
    )
