"""From sections of blocks to self-contained chunks, without duplicates."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from core.index import Chunk, Unit, embed_text
from core.korean import Tokenizer
from ingest.loader import Document, detect_language
from ingest.structure import Block, Parsed, Section

PROSE_CHARS = 450
LIST_CHARS = 700
#: Share of naming tokens two passages must have in common to count as the same text.
SECTION_DUP = 0.6
BLOCK_DUP = 0.8
MIN_DUP_CHARS = 60
_NORMALISE = re.compile(r"[\W_]+", re.U)


@dataclass
class Duplicate:
    """A passage left out because it repeats another; `kept_under` is where the copy lives."""

    heading: str
    kept_under: str


@dataclass
class ChunkedDocument:
    chunks: list[Chunk]
    duplicates: list[Duplicate] = field(default_factory=list)


def _is_lead_in(sentence: str) -> bool:
    """Does this sentence, directly above a list, introduce it?"""
    s = sentence.strip()
    return s.endswith(":") or "다음" in s or "following" in s.lower() or len(s) <= 60


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _key(text: str) -> str:
    return _NORMALISE.sub("", text).lower()


def _dedupe(sections: list[Section], tok: Tokenizer) -> list[Duplicate]:
    """Drop repeated sections and blocks in place; remember where the copies pointed."""
    dups: list[Duplicate] = []
    kept_sections: list[tuple[Section, set[str]]] = []
    for section in list(sections):
        words = set(tok.nouns(" ".join(b.plain() for b in section.blocks)))
        twin = next(
            (
                s
                for s, w in kept_sections
                if len(words) >= 10 and len(w) >= 10 and _jaccard(words, w) >= SECTION_DUP
            ),
            None,
        )
        if twin is not None and section.path:
            twin.also_under.append(section.path[-1])
            dups.append(Duplicate(heading=section.heading, kept_under=twin.heading))
            sections.remove(section)
            continue
        kept_sections.append((section, words))

    seen: dict[str, Section] = {}
    seen_words: list[tuple[set[str], Section]] = []
    for section in sections:
        for block in list(section.blocks):
            key = _key(block.plain())
            # Short lines such as "필수 기술:" legitimately recur under every role.
            if block.kind == "table" or len(key) < MIN_DUP_CHARS:
                continue
            words = set(tok.nouns(block.plain()))
            twin = seen.get(key)
            if twin is None and len(words) >= 8:
                twin = next((s for w, s in seen_words if _jaccard(words, w) >= BLOCK_DUP), None)
            if twin is not None and twin is not section:
                # Not quoted twice, but a list right after it still needs to know what it is
                # about ("현대 콜센터 내부": the roles listed are those of the hierarchy).
                at = section.blocks.index(block)
                section.blocks.remove(block)
                if at < len(section.blocks) and section.blocks[at].kind == "list":
                    section.blocks[at].context = block.text
                if section.path and section.path[-1] not in twin.also_under:
                    twin.also_under.append(section.path[-1])
                dups.append(Duplicate(heading=section.heading, kept_under=twin.heading))
                continue
            seen.setdefault(key, section)
            if len(words) >= 8:
                seen_words.append((words, section))
    return dups


def _table_rows(block: Block) -> list[tuple[str, list[Unit]]]:
    """One self-contained record per row, carrying its column headers."""
    header = block.header
    rows = block.rows
    records: list[tuple[str, list[Unit]]] = []
    two = len(header) == 2
    if two and rows:
        first = sum(len(r[0]) for r in rows) / len(rows)
        second = sum(len(r[1]) for r in rows) / len(rows)
        key_value = first <= 25 and first * 2 <= second
    else:
        key_value = False
    for row in rows:
        cells = [(h, c) for h, c in zip(header, row, strict=False) if c]
        if not cells:
            continue
        if key_value and len(cells) == 2:
            text = f"{cells[0][1]}: {cells[1][1]}"
            units = [Unit(kind="row", text=text, label=header[0])]
        else:
            text = " / ".join(f"{h}: {c}" if h else c for h, c in cells)
            units = [Unit(kind="cell", text=c, label=h) for h, c in cells]
        records.append((text, units))
    return records


def _pack(sentences: list[str], limit: int) -> list[list[str]]:
    """Group consecutive sentences into runs of at most `limit` characters."""
    groups: list[list[str]] = []
    current: list[str] = []
    size = 0
    for sent in sentences:
        if current and size + len(sent) > limit:
            groups.append(current)
            current, size = [], 0
        current.append(sent)
        size += len(sent) + 1
    if current:
        groups.append(current)
    return groups


def chunk_document(doc: Document, parsed: Parsed, tok: Tokenizer) -> ChunkedDocument:
    """Turn a parsed document into chunks: prose runs, lists with their lead-in, table rows."""
    sections = list(parsed.sections)
    duplicates = _dedupe(sections, tok)
    chunks: list[Chunk] = []
    published = doc.published or parsed.published

    def emit(section: Section, kind: str, text: str, units: list[Unit], context: str = "") -> None:
        heading = section.heading
        also = list(section.also_under)
        embed = embed_text(heading, also, text, context)
        digest = hashlib.sha256(embed.encode()).hexdigest()
        chunks.append(
            Chunk(
                id=hashlib.sha256(f"{doc.source}\0{embed}".encode()).hexdigest()[:24],
                text=text,
                source=doc.source,
                title=parsed.title or doc.title,
                section=heading,
                position=len(chunks),
                kind=kind,
                language=detect_language(text),
                hash=digest[:32],
                doc_hash=doc.sha,
                units=units,
                tokens=tok.tokens(embed),
                published=published,
                also_under=also,
                context=context,
            )
        )

    for index, section in enumerate(sections):
        # A heading whose sub-sections are numbered ("7가지 기술" > "1. 고객중심의 전망" ...) is
        # itself a list: the sub-headings are its items.
        children = [
            s.path[-1]
            for s in sections[index + 1 :]
            if len(s.path) == len(section.path) + 1 and s.path[:-1] == section.path
        ]
        numbered = [
            re.sub(r"^\d{1,2}[.)]\s*", "", c) for c in children if re.match(r"^\d{1,2}[.)]", c)
        ]
        if section.path and len(numbered) >= 3:
            lead = section.path[-1]
            emit(
                section,
                "list",
                "\n".join([lead, *(f"{n}. {c}" for n, c in enumerate(numbered, start=1))]),
                [Unit(kind="lead", text=lead), *(Unit(kind="item", text=c) for c in numbered)],
            )
        prose: list[str] = []

        def flush(section: Section = section, prose: list[str] = prose) -> None:
            for group in _pack(prose, PROSE_CHARS):
                emit(
                    section,
                    "prose",
                    " ".join(group),
                    [Unit(kind="sentence", text=s) for s in group],
                )
            prose.clear()

        blocks = section.blocks
        for idx, block in enumerate(blocks):
            if block.kind == "paragraph":
                sents = tok.sentences(block.text) or [block.text]
                nxt = blocks[idx + 1] if idx + 1 < len(blocks) else None
                prose.extend(sents)
                if nxt is not None and nxt.kind == "list" and _is_lead_in(prose[-1]):
                    leads = [prose.pop()]
                    # "주요 책임의 일부는 다음과 같습니다: / 주요 업무는 다음과 같습니다:"
                    while prose and prose[-1].endswith(":"):
                        leads.insert(0, prose.pop())
                    nxt.lead = " ".join(leads)
                    nxt.context = nxt.context or (prose[-1] if prose else "")
            elif block.kind == "list":
                flush()
                start = 1
                for group in _pack(block.items, LIST_CHARS):
                    units = [Unit(kind="lead", text=block.lead)] if block.lead else []
                    units += [Unit(kind="item", text=item) for item in group]
                    lines = [block.lead] if block.lead else []
                    lines += [
                        f"{n}. {item}" if block.ordered else f"- {item}"
                        for n, item in enumerate(group, start=start)
                    ]
                    start += len(group)
                    emit(section, "list", "\n".join(lines), units, block.context)
            else:
                flush()
                for text, units in _table_rows(block):
                    emit(section, "row", text, units)
        flush()
    return ChunkedDocument(chunks=chunks, duplicates=duplicates)
