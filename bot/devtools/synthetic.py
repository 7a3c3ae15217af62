"""A synthetic corpus for the benchmark: N chunks that look like the real ones, served by the
bot's real load path.

The chunks recombine the real index's units (sentences, list items with their lead-ins, table
cells) into new documents and sections, with lexical tokens from Kiwi over those real units.
Their vectors are derived, not embedded (50,000 passages would take the benchmark's whole
budget): the mean of the real vectors the units came from plus normalised Gaussian noise, so the
HNSW graph has the clustered structure of real embeddings. They are written the way ingest
writes: a new generation collection in a scratch DATA_DIR, published by switching the pointer,
so `load_snapshot` (BM25 + the Chroma collection) serves them like any index.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.index import Chunk, IndexMissing, IndexStore, Pointer, Unit
from core.korean import Tokenizer, make_tokenizer
from core.settings import Settings

#: Chunks written to Chroma per call (embedded Chroma accepts up to about 5,000).
WRITE_BATCH = 5_000
#: Standard deviation of the noise relative to a unit vector: a derived vector keeps a cosine
#: similarity of about 0.9 with the real passages it was made from.
NOISE = 0.45
#: Published-data keys copied from the real generation (the glossary and the role catalogue).
_CARRIED = ("glossary", "glossary_sha", "roles", "roles_sha")


@dataclass
class _Real:
    """The real index as material: its chunks, their vectors, their units by kind."""

    pointer: Pointer
    chunks: list[Chunk]
    vectors: np.ndarray
    metadata: dict[str, Any]
    by_section: dict[str, list[int]]
    units: dict[str, list[tuple[Unit, int]]]  # unit kind -> (unit, index of its chunk)


def _read_real(store: IndexStore) -> _Real:
    pointer = store.pointer()
    if pointer is None:
        raise IndexMissing("no index has been published yet; run `career-bot ingest`")
    got = store.records(pointer.collection, ["embeddings", "documents", "metadatas"])
    chunks = [
        Chunk.from_record(cid, doc or "", meta or {})
        for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
    ]
    vectors = np.asarray(got["embeddings"], dtype=np.float32).reshape(-1, pointer.dim)
    by_section: dict[str, list[int]] = defaultdict(list)
    units: dict[str, list[tuple[Unit, int]]] = defaultdict(list)
    for i, chunk in enumerate(chunks):
        by_section[chunk.section].append(i)
        for unit in chunk.units:
            units[unit.kind].append((unit, i))
    return _Real(
        pointer=pointer,
        chunks=chunks,
        vectors=vectors,
        metadata=dict(store.collection(pointer.collection).metadata or {}),
        by_section=dict(by_section),
        units=dict(units),
    )


def _text(kind: str, units: list[Unit]) -> str:
    """A chunk's text from its units, laid out as the chunker lays out that kind."""
    if kind == "list":
        return "\n".join(u.text if u.kind == "lead" else f"- {u.text}" for u in units)
    if kind == "row":
        return " / ".join(f"{u.label}: {u.text}" if u.label else u.text for u in units)
    return " ".join(u.text for u in units)


class _Maker:
    """Makes synthetic chunks from the real ones, deterministically for a seed."""

    def __init__(self, real: _Real, tokenizer: Tokenizer, seed: int) -> None:
        self.real = real
        self.tok = tokenizer
        self.rnd = random.Random(seed)
        self.rng = np.random.default_rng(seed)
        self.sections = sorted(real.by_section)
        self._tokens: dict[str, list[str]] = {}
        self.donors: list[list[int]] = []  # per chunk made: the real chunks its units came from
        self.document_count = 0

    def tokens(self, text: str) -> list[str]:
        got = self._tokens.get(text)
        if got is None:
            got = self._tokens[text] = self.tok.tokens(text)
        return got

    def _swap(self, unit: Unit, own: int) -> tuple[Unit, int]:
        """The unit itself or, half the time, another real unit of the same kind."""
        pool = self.real.units.get(unit.kind, [])
        if unit.kind == "lead" or not pool or self.rnd.random() < 0.5:
            return unit, own
        return self.rnd.choice(pool)

    def chunk(self, source: str, title: str, section: str, base: int, position: int) -> Chunk:
        template = self.real.chunks[base]
        picked = [self._swap(u, base) for u in template.units] or [
            (Unit(kind="sentence", text=template.text), base)
        ]
        if template.kind == "prose" and self.rnd.random() < 0.5:
            picked.append(self.rnd.choice(self.real.units.get("sentence", picked)))
        units = [u for u, _ in picked]
        text = _text(template.kind, units)
        tokens = self.tokens(section) + [t for u in units for t in self.tokens(u.text)]
        digest = hashlib.sha256(f"{source}\0{section}\0{position}\0{text}".encode()).hexdigest()
        chunk = Chunk(
            id=f"syn-{digest[:20]}",
            text=text,
            source=source,
            title=title,
            section=section,
            position=position,
            kind=template.kind,
            language=template.language,
            hash=digest[:16],
            doc_hash=hashlib.sha256(source.encode()).hexdigest()[:16],
            units=units,
            tokens=tokens,
            published=template.published,
            generation=1,
        )
        self.donors.append([i for _, i in picked])
        return chunk

    def documents(self, count: int) -> list[Chunk]:
        """`count` chunks in documents of 40-120 chunks, sections of 2-10 chunks each; a
        section's chunks are made from the real chunks under a real heading."""
        out: list[Chunk] = []
        while len(out) < count:
            self.document_count += 1
            doc = self.document_count
            source = f"synthetic-{doc:05d}.txt"
            title = f"합성 문서 {doc}"
            size = min(self.rnd.randint(40, 120), count - len(out))
            position = 0
            while position < size:
                heading = self.rnd.choice(self.sections)
                section = f"{heading} ({doc}-{position})" if self.rnd.random() < 0.5 else heading
                for _ in range(min(self.rnd.randint(2, 10), size - position)):
                    base = self.rnd.choice(self.real.by_section[heading])
                    out.append(self.chunk(source, title, section, base, position))
                    position += 1
        return out

    def vectors(self, last: int) -> np.ndarray:
        """For the `last` chunks made: the mean of each one's donors' real vectors plus noise,
        as unit vectors."""
        real = self.real.vectors
        mean = np.stack([real[d].mean(axis=0) for d in self.donors[-last:]])
        mean /= np.linalg.norm(mean, axis=1, keepdims=True)
        noise = self.rng.standard_normal(mean.shape).astype(np.float32)
        noise *= NOISE / np.sqrt(mean.shape[1])
        out = mean + noise
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out.astype(np.float32)


class SyntheticIndex:
    """A synthetic index in a scratch DATA_DIR that grows: `grow_to(10_000)`, measure,
    `grow_to(50_000)`, measure. One generation collection holds it; every growth step
    publishes the pointer again with the new size (a scratch index no reader shares, so adding
    to the published collection is safe and saves writing the first chunks twice)."""

    def __init__(self, source: Settings, data_dir: Path, *, seed: int = 7) -> None:
        self.source = source
        self.settings = source.model_copy(
            update={"data_dir": data_dir, "chroma_host": "", "chroma_port": None}
        )
        self.seed = seed
        self.store = IndexStore(self.settings)
        self.chunks = 0
        self.sources: set[str] = set()
        self._maker: _Maker | None = None
        self._collection: Any = None

    def _maker_for(self) -> _Maker:
        """Read the real index and write it as the start of the synthetic one (first call)."""
        if self._maker is None:
            real = _read_real(IndexStore(self.source))
            self._collection = self.store.new_generation(
                1,
                real.pointer.embedder,
                real.pointer.dim,
                extra={k: str(real.metadata[k]) for k in _CARRIED if k in real.metadata},
            )
            for chunk in real.chunks:
                chunk.generation = 1
            self._write(real.chunks, real.vectors)
            self._maker = _Maker(real, make_tokenizer(), self.seed)
        return self._maker

    def grow_to(self, size: int) -> float:
        """Add chunks until the index holds `size` (the real ones first); seconds it took."""
        started = time.perf_counter()
        maker = self._maker_for()
        if size > self.chunks:
            made = maker.documents(size - self.chunks)
            self._write(made, maker.vectors(len(made)))
        self.store.publish(
            Pointer(
                collection=self._collection.name,
                generation=1,
                embedder=maker.real.pointer.embedder,
                dim=maker.real.pointer.dim,
                documents=len(self.sources),
                chunks=self.chunks,
            )
        )
        return time.perf_counter() - started

    def _write(self, chunks: list[Chunk], vectors: np.ndarray) -> None:
        for start in range(0, len(chunks), WRITE_BATCH):
            batch = chunks[start : start + WRITE_BATCH]
            self._collection.add(
                ids=[c.id for c in batch],
                embeddings=vectors[start : start + WRITE_BATCH],
                documents=[c.text for c in batch],
                metadatas=[c.to_metadata() for c in batch],
            )
        self.chunks += len(chunks)
        self.sources.update(c.source for c in chunks)


#: Bump when the generator changes what it makes: kept synthetic indexes are then rebuilt.
GENERATOR_VERSION = 1
_DONE = "complete.json"


class SyntheticCache:
    """Complete synthetic indexes kept between benchmark runs under `root` (in DATA_DIR, never
    committed): writing 50,000 chunks through Chroma is most of a benchmark run's time.

    One is kept per size, for the real generation it was made from, the seed and the generator
    version; re-ingesting the documents publishes a new generation, so the next run makes new
    ones, and kept indexes of anything else are removed.
    """

    def __init__(self, root: Path, source: Settings, *, seed: int = 7) -> None:
        self.root = root
        self.source = source
        self.seed = seed
        pointer = IndexStore(source).pointer()
        if pointer is None:
            raise IndexMissing("no index has been published yet; run `career-bot ingest`")
        self._origin = f"{pointer.collection}|{pointer.embedder}|{GENERATOR_VERSION}|{seed}"

    def path(self, size: int) -> Path:
        key = hashlib.sha256(f"{self._origin}|{size}".encode()).hexdigest()[:12]
        return self.root / f"synthetic-{size}-{key}"

    def ready(self, size: int) -> tuple[Settings, float] | None:
        """(settings that read the kept index of `size` chunks, seconds its writing took), or
        None when there is none."""
        done = self.path(size) / _DONE
        if not done.is_file():
            return None
        recorded = json.loads(done.read_text(encoding="utf-8"))
        settings = self.source.model_copy(
            update={"data_dir": self.path(size), "chroma_host": "", "chroma_port": None}
        )
        return settings, float(recorded["write_s"])

    def start(self, size: int) -> SyntheticIndex:
        """An empty synthetic index where the kept one of `size` chunks lives. What was there,
        kept indexes of other origins and half-written ones (a killed run) are removed."""
        keep = self.path(size)
        if self.root.is_dir():
            for old in self.root.glob("synthetic-*"):
                if not (self._current(old) and (old / _DONE).is_file()):
                    shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(keep, ignore_errors=True)
        return SyntheticIndex(self.source, keep, seed=self.seed)

    def keep(self, index: SyntheticIndex, write_s: float) -> None:
        """Mark `index` complete, so later runs use it."""
        done = {"chunks": index.chunks, "write_s": round(write_s, 2), "seed": self.seed}
        (index.settings.data_dir / _DONE).write_text(json.dumps(done), encoding="utf-8")

    def _current(self, path: Path) -> bool:
        """Was the kept index at `path` made from the current origin (any size)?"""
        size = path.name.split("-")[1]
        return size.isdigit() and self.path(int(size)) == path
