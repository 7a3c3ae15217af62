"""Extractive answers: quoted sentences and list items of the retrieved chunks, with markers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from bot.analysis import Reading
from bot.knowledge import Snapshot
from bot.messages import say
from bot.models import Citation
from bot.retrieval import Hit, Retrieved
from core.index import Chunk, Unit
from core.korean import Tokenizer

#: Figures that age: percentages, money, job counts and forecasts to a year.
_AGING = re.compile(
    r"\d[\d,.]*\s*(%|퍼센트|달러|dollars?|원\b|개의?\s*(관련\s*)?일자리|jobs?)|\$\s?\d|\d{4}\s*년까지",
    re.I,
)
_QUANTITY = re.compile(r"몇|얼마|how (many|much)|what percent|비율|퍼센트", re.I)
_HAS_FIGURE = re.compile(r"\d")
_ITEM_CHARS = 220
_FACT_UNITS = 2
_LIST_ITEMS = 10


@dataclass
class Composition:
    text: str
    citations: list[Citation]
    sections: list[str] = field(default_factory=list)
    focus_section: str = ""


@dataclass
class _Picked:
    unit: Unit
    hit: Hit
    score: float


def _first_sentence(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    m = re.search(r"[.!?。](\s|$)", text[: limit + 1])
    if m and m.end() > limit * 0.4:
        return text[: m.end()].strip()
    return text[:limit].rstrip() + "…"


class Composer:
    def __init__(self, tokenizer: Tokenizer, max_chars: int = 900) -> None:
        self.tok = tokenizer
        self.max_chars = max_chars
        # Units repeat across questions; tokenising each once keeps composing to a few ms.
        self._tokens = lru_cache(maxsize=50_000)(lambda text: frozenset(tokenizer.tokens(text)))

    # -- scoring -------------------------------------------------------------------------
    def _unit_tokens(self, unit: Unit) -> frozenset[str]:
        return self._tokens(unit.text)

    def _overlap(
        self, tokens: frozenset[str] | set[str], weights: dict[str, float], snap: Snapshot
    ) -> float:
        """Share of the query's (idf-weighted) tokens that the text contains."""
        total = 0.0
        got = 0.0
        for token, weight in weights.items():
            w = weight * snap.bm25.idf.get(token, 0.5)
            total += w
            if token in tokens:
                got += w
        return got / total if total else 0.0

    def _candidates(
        self, snap: Snapshot, retrieved: Retrieved, hits: list[Hit], question: str = ""
    ) -> list[_Picked]:
        top = max((h.fused for h in retrieved.hits), default=1.0) or 1.0
        wants_figure = bool(_QUANTITY.search(question))
        picked: list[_Picked] = []
        for hit in hits:
            for unit in hit.chunk.units:
                # A lead-in or a rhetorical question from the page is not an answer.
                if unit.kind == "lead" or unit.text.rstrip().endswith("?"):
                    continue
                overlap = self._overlap(self._unit_tokens(unit), retrieved.weights, snap)
                score = 0.6 * overlap + 0.4 * hit.fused / top
                # "몇 명", "how much": the statement holding a figure is the answer.
                if wants_figure and _HAS_FIGURE.search(unit.text):
                    score += 0.25
                picked.append(_Picked(unit, hit, score))
        picked.sort(key=lambda p: p.score, reverse=True)
        return picked

    def _structure_bonus(self, chunk: Chunk, weights: dict[str, float], snap: Snapshot) -> float:
        lead = next((u.text for u in chunk.units if u.kind == "lead"), "")
        return self._overlap(self._tokens(f"{chunk.section} {lead}"), weights, snap)

    # -- composing -----------------------------------------------------------------------
    def compose(self, snap: Snapshot, reading: Reading, retrieved: Retrieved) -> Composition:
        hits = retrieved.hits[:5]
        if not hits:
            return Composition(text="", citations=[])
        writer = _Writer(reading.language, self.max_chars)
        anchor = self._anchor(snap, retrieved) if reading.list_type else None
        if anchor is not None and anchor.chunk.kind == "row":
            rows = [c for c in snap.siblings(anchor.chunk) if c.kind == "row"]
            scores = [self._overlap(set(c.tokens), retrieved.weights, snap) for c in rows]
            best = max(scores, default=0.0)
            others = sorted(scores)[:-1] or [0.0]
            if best > 0 and best >= 2 * (sum(others) / len(others)) and len(rows) > 2:
                anchor = None  # the question singles out one row: answer it as a fact
        if anchor is not None:
            self._write_structured(snap, reading, retrieved, anchor, writer)
        elif reading.list_type:
            self._write_bullets(snap, retrieved, hits, writer, reading.text)
        else:
            self._write_fact(snap, retrieved, hits, writer, reading.text)
        return writer.finish()

    def _anchor(self, snap: Snapshot, retrieved: Retrieved) -> Hit | None:
        """The list or table that best answers a list question, if one is near the top."""
        top = max((h.fused for h in retrieved.hits), default=1.0) or 1.0
        best: tuple[float, Hit] | None = None
        for hit in retrieved.hits[:5]:
            if hit.chunk.kind not in {"list", "row"}:
                continue
            rel = hit.fused / top
            if rel < 0.45:
                continue
            # A list must be about the question, not merely nearby in embedding space.
            content = self._overlap(frozenset(hit.chunk.tokens), retrieved.weights, snap)
            if content < 0.3 and rel < 0.9:
                continue
            score = rel + 0.6 * self._structure_bonus(hit.chunk, retrieved.weights, snap)
            if best is None or score > best[0]:
                best = (score, hit)
        return best[1] if best else None

    def _write_structured(
        self,
        snap: Snapshot,
        reading: Reading,
        retrieved: Retrieved,
        anchor: Hit,
        writer: _Writer,
    ) -> None:
        chunk = anchor.chunk
        writer.intro(say("intro_list", reading.language))
        # One sentence of context about the subject, when the section has a fitting one.
        context = [
            _Picked(
                u,
                Hit(c, 0, 0, anchor.fused),
                self._overlap(self._unit_tokens(u), retrieved.weights, snap),
            )
            for c in snap.siblings(chunk)
            if c.kind == "prose"
            for u in c.units[:2]
        ]
        context.sort(key=lambda p: p.score, reverse=True)
        if context and context[0].score >= 0.5:
            writer.statement(context[0].unit.text, context[0].hit)
        if chunk.kind == "row":
            rows = [c for c in snap.siblings(chunk) if c.kind == "row"]
            labelled = all(u.kind == "cell" for c in rows for u in c.units)
            if labelled:
                columns: dict[str, list[tuple[str, Chunk]]] = {}
                for row in rows:
                    for unit in row.units:
                        columns.setdefault(unit.label, []).append((unit.text, row))
                for label, cells in columns.items():
                    writer.heading(label)
                    for text, row in cells:
                        writer.bullet(text, Hit(row, 0, 0, anchor.fused))
            else:
                for row in rows:
                    writer.bullet(row.units[0].text, Hit(row, 0, 0, anchor.fused))
        else:
            lead = next((u.text for u in chunk.units if u.kind == "lead"), "")
            parts = [
                c
                for c in snap.siblings(chunk)
                if c.kind == "list"
                and next((u.text for u in c.units if u.kind == "lead"), "") == lead
            ] or [chunk]
            if lead:
                writer.line(lead)
            items = [(u.text, c) for c in parts for u in c.units if u.kind == "item"]
            for text, part in items[:_LIST_ITEMS]:
                writer.bullet(text, Hit(part, 0, 0, anchor.fused))
        writer.hint_section(chunk.section)

    def _write_bullets(
        self, snap: Snapshot, retrieved: Retrieved, hits: list[Hit], writer: _Writer, question: str
    ) -> None:
        picked = self._candidates(snap, retrieved, hits, question)
        if not picked:
            return
        writer.intro(say("intro_list", writer.language))
        best = picked[0].score
        for p in picked[:6]:
            if p.score < best * 0.55:
                break
            writer.bullet(p.unit.text, p.hit)
        writer.hint_section(picked[0].hit.chunk.section)

    def _write_fact(
        self, snap: Snapshot, retrieved: Retrieved, hits: list[Hit], writer: _Writer, question: str
    ) -> None:
        picked = self._candidates(snap, retrieved, hits[:4], question)
        if not picked:
            return
        writer.intro(say("intro_fact", writer.language))
        chosen = [picked[0]]
        for p in picked[1:]:
            if len(chosen) >= _FACT_UNITS or p.score < picked[0].score * 0.8:
                break
            if p.unit.text != chosen[0].unit.text:
                chosen.append(p)
        # Keep document order within a chunk so two sentences read naturally.
        chosen.sort(
            key=lambda p: (
                p.hit.chunk.source,
                p.hit.chunk.position,
                p.hit.chunk.units.index(p.unit),
            )
        )
        for p in chosen:
            writer.statement(p.unit.text, p.hit)
        writer.hint_section(picked[0].hit.chunk.section)


class _Writer:
    """Lays out statements with citation markers inside the character budget."""

    def __init__(self, language: str, max_chars: int) -> None:
        self.language = language
        self.max_chars = max_chars
        self.lines: list[str] = []
        self.citations: list[Citation] = []
        self._markers: dict[str, int] = {}
        self._quoted: dict[str, list[str]] = {}
        self._seen: set[str] = set()
        self._hint = ""
        self.truncated = False

    def _size(self) -> int:
        return sum(len(line) + 1 for line in self.lines)

    def _marker(self, hit: Hit, text: str) -> int:
        chunk = hit.chunk
        if chunk.id not in self._markers:
            self._markers[chunk.id] = len(self._markers) + 1
            self._quoted[chunk.id] = []
            self.citations.append(
                Citation(
                    marker=self._markers[chunk.id],
                    source=chunk.source,
                    title=chunk.title,
                    section=chunk.section,
                    text="",
                    score=round(float(hit.fused), 4),
                    chunk_id=chunk.id,
                    published=chunk.published,
                )
            )
        self._quoted[chunk.id].append(text)
        return self._markers[chunk.id]

    def _dated(self, text: str, chunk: Chunk) -> str:
        if not _AGING.search(text):
            return ""
        if chunk.published:
            return " " + say("as_of", self.language, date=chunk.published[:7])
        return " " + say("undated", self.language)

    def _fits(self, addition: str) -> bool:
        if self._size() + len(addition) + 1 > self.max_chars:
            self.truncated = True
            return False
        return True

    def intro(self, text: str) -> None:
        self.lines.append(text)

    def heading(self, text: str) -> None:
        if self._fits(text):
            self.lines.append(f"{text}:")

    def line(self, text: str) -> None:
        if self._fits(text):
            self.lines.append(text)

    def statement(self, text: str, hit: Hit) -> None:
        key = re.sub(r"\W+", "", text)
        if key in self._seen:
            return
        body = _first_sentence(text, _ITEM_CHARS * 2)
        dated = self._dated(body, hit.chunk)
        if not self._fits(f"{body} [9]{dated}"):
            return
        self._seen.add(key)
        self.lines.append(f"{body} [{self._marker(hit, body)}]{dated}")

    def bullet(self, text: str, hit: Hit) -> None:
        key = re.sub(r"\W+", "", text)
        if key in self._seen:
            return
        body = _first_sentence(text, _ITEM_CHARS)
        dated = self._dated(body, hit.chunk)
        if not self._fits(f"• {body} [9]{dated}"):
            return
        self._seen.add(key)
        self.lines.append(f"• {body} [{self._marker(hit, body)}]{dated}")

    def hint_section(self, section: str) -> None:
        if section:
            self._hint = section.split(" > ")[-1]

    def finish(self) -> Composition:
        for citation in self.citations:
            quoted = " … ".join(self._quoted[citation.chunk_id])
            citation.text = _first_sentence(quoted, 300)
        lines = list(self.lines)
        if self._hint and len(lines) > 1:
            lines.append("")
            lines.append(say("more_hint", self.language, section=self._hint))
        return Composition(
            text="\n".join(lines) if len(self.lines) > 1 else "",
            citations=self.citations,
            sections=[c.section for c in self.citations],
            focus_section=self._hint,
        )
