"""The index as the bot serves it: one immutable snapshot per generation, swapped atomically."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import partial, reduce
from typing import Any

import numpy as np

from core.glossary import Glossary
from core.index import Chunk, IndexMissing, IndexStore, Pointer, StoreUnavailable, unpack_vectors
from core.roles import Catalogue
from core.settings import Settings

logger = logging.getLogger(__name__)


class BM25:
    """Okapi BM25 over pre-tokenised chunks, with an inverted index (cost grows with postings)."""

    def __init__(self, docs: list[list[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.n = len(docs)
        lengths = np.array([len(d) for d in docs], dtype=np.float32)
        self.avgdl = float(lengths.mean()) if self.n else 1.0
        postings: dict[str, dict[int, int]] = defaultdict(dict)
        for i, doc in enumerate(docs):
            for token, tf in Counter(doc).items():
                postings[token][i] = tf
        self.norm = self.k1 * (1 - self.b + self.b * lengths / max(self.avgdl, 1e-6))
        self.index: dict[str, tuple[np.ndarray, np.ndarray]] = {
            token: (
                np.fromiter(p.keys(), dtype=np.int32, count=len(p)),
                np.fromiter(p.values(), dtype=np.float32, count=len(p)),
            )
            for token, p in postings.items()
        }
        self._concept_idf: dict[tuple[frozenset[str], ...], float] = {}
        self.idf = {
            token: math.log(1 + (self.n - len(p) + 0.5) / (len(p) + 0.5))
            for token, p in postings.items()
        }

    def concept_idf(self, phrases: tuple[frozenset[str], ...]) -> float:
        """idf of "any of these phrases": as common as the chunks holding one of them whole."""
        cached = self._concept_idf.get(phrases)
        if cached is not None:
            return cached
        holders = np.zeros(self.n, dtype=bool)
        for phrase in phrases:
            postings = [self.index[w][0] for w in phrase if w in self.index]
            if len(postings) == len(phrase) and postings:
                holders[reduce(partial(np.intersect1d, assume_unique=True), postings)] = True
        df = int(holders.sum())
        idf = math.log(1 + (self.n - df + 0.5) / (df + 0.5)) if df else 0.0
        if len(self._concept_idf) > 10_000:
            self._concept_idf.clear()
        self._concept_idf[phrases] = idf
        return idf

    def _accumulate(self, weighted: dict[str, float]) -> np.ndarray:
        """Every chunk's score (0 where no query token occurs), summed token by token."""
        acc = np.zeros(self.n, dtype=np.float64)
        for token, weight in weighted.items():
            hit = self.index.get(token)
            if hit is None:
                continue
            ids, tfs = hit
            acc[ids] += self.idf[token] * tfs * (self.k1 + 1) / (tfs + self.norm[ids]) * weight
        return acc

    def top(self, weighted: dict[str, float], k: int) -> list[tuple[int, float]]:
        """The k best chunks, best first (ties in chunk order). Beyond one cheap vector pass
        over the corpus, the cost is the postings of the query's tokens and a partial sort,
        not a full sort of every chunk they touch."""
        acc = self._accumulate(weighted)
        hit = np.flatnonzero(acc)
        if len(hit) > k > 0:
            kth = np.partition(acc[hit], len(hit) - k)[len(hit) - k]
            hit = hit[acc[hit] >= kth]
        order = hit[np.lexsort((hit, -acc[hit]))][:k]
        return list(zip(order.tolist(), acc[order].tolist(), strict=True))


@dataclass
class Snapshot:
    """One published generation, loaded: chunks, lexical index, glossary, Chroma collection."""

    pointer: Pointer
    chunks: list[Chunk]
    collection: Any
    glossary: Glossary
    bm25: BM25
    #: The role catalogue published with this generation (career-path answers).
    roles: Catalogue = field(default_factory=Catalogue)
    by_id: dict[str, int] = field(default_factory=dict)
    vocabulary: frozenset[str] = frozenset()
    #: Things computed once per snapshot by the parts that use them (compiled role names...).
    derived: dict[str, Any] = field(default_factory=dict)

    @property
    def generation(self) -> int:
        return self.pointer.generation

    def unit_matrix(self) -> tuple[np.ndarray, list[tuple[str, int]]] | None:
        """Every unit's vector as one matrix, with (chunk id, unit index) per row; None when the
        index was built without unit vectors. Built once per snapshot on first use."""
        built = self.derived.get("unit_matrix")
        if built is None:
            rows: list[np.ndarray] = []
            keys: list[tuple[str, int]] = []
            for chunk in self.chunks:
                vectors = unpack_vectors(chunk.unit_vectors, len(chunk.units))
                if vectors is None:
                    if chunk.units:
                        self.derived["unit_matrix"] = built = ()
                        return None
                    continue
                rows.append(vectors)
                keys.extend((chunk.id, i) for i in range(len(chunk.units)))
            built = (np.vstack(rows), keys) if rows else ()
            self.derived["unit_matrix"] = built
        return built or None

    def siblings(self, chunk: Chunk) -> list[Chunk]:
        """Chunks of the same section of the same document, in order."""
        return list(self._grouped("by_section").get((chunk.source, chunk.section), ()))

    def of_source(self, source: str) -> list[Chunk]:
        """Chunks of one document, in order."""
        return list(self._grouped("by_source").get(source, ()))

    def _grouped(self, key: str) -> dict[Any, list[Chunk]]:
        """Chunks grouped by document (and section), built once per snapshot on first use:
        looking a group up must not cost a pass over every chunk."""
        groups = self.derived.get(key)
        if groups is None:
            by_section: dict[Any, list[Chunk]] = defaultdict(list)
            by_source: dict[Any, list[Chunk]] = defaultdict(list)
            for c in self.chunks:
                by_section[(c.source, c.section)].append(c)
                by_source[c.source].append(c)
            self.derived["by_section"], self.derived["by_source"] = by_section, by_source
            groups = by_section if key == "by_section" else by_source
        return groups


def load_snapshot(store: IndexStore, identity: str) -> Snapshot:
    """Read the active generation in full; raises IndexMissing/EmbedderMismatch/StoreUnavailable."""
    pointer = store.pointer()
    if pointer is None:
        raise IndexMissing("the knowledge base has not been built yet: run `career-bot ingest`")
    store.check_embedder(pointer, identity)
    try:
        collection = store.collection(pointer.collection)
        chunks = store.read_chunks(pointer.collection)
    except Exception as exc:
        raise StoreUnavailable(f"cannot read generation {pointer.generation}: {exc}") from exc
    glossary = Glossary.from_json(str((collection.metadata or {}).get("glossary", "")))
    roles = Catalogue.from_json(str((collection.metadata or {}).get("roles", "")))
    bm25 = BM25([c.tokens for c in chunks])
    vocabulary = frozenset(bm25.index)
    return Snapshot(
        pointer=pointer,
        chunks=chunks,
        collection=collection,
        glossary=glossary,
        bm25=bm25,
        roles=roles,
        by_id={c.id: i for i, c in enumerate(chunks)},
        vocabulary=vocabulary,
    )


class KnowledgeBase:
    """Serves the current snapshot; notices a newly published generation within `refresh_s`.

    A replica never reads a half-written generation: the pointer only ever names complete ones,
    and a snapshot is swapped in whole, after it has been loaded.
    """

    def __init__(
        self,
        settings: Settings,
        identity: str,
        store: IndexStore | None = None,
        refresh_s: float = 2.0,
    ) -> None:
        self.settings = settings
        self.identity = identity
        self.store = store or IndexStore(settings)
        self.refresh_s = refresh_s
        self._snapshot: Snapshot | None = None
        self._checked = 0.0
        self._lock = asyncio.Lock()

    @property
    def snapshot(self) -> Snapshot | None:
        return self._snapshot

    async def current(self) -> Snapshot:
        """The snapshot to answer from, reloading it if another generation was published."""
        snap = self._snapshot
        if snap is not None and time.monotonic() - self._checked < self.refresh_s:
            return snap
        async with self._lock:
            snap = self._snapshot
            if snap is not None and time.monotonic() - self._checked < self.refresh_s:
                return snap
            pointer = await asyncio.to_thread(self.store.pointer)
            self._checked = time.monotonic()
            if pointer is None:
                raise IndexMissing(
                    "the knowledge base has not been built yet: run `career-bot ingest`"
                )
            if snap is None or pointer.collection != snap.pointer.collection:
                fresh = await asyncio.to_thread(load_snapshot, self.store, self.identity)
                if snap is not None:
                    logger.info(
                        "now serving generation %s (was %s)", fresh.generation, snap.generation
                    )
                self._snapshot = snap = fresh
            return snap

    def invalidate(self) -> None:
        """Check the pointer again on the next question (after a store error)."""
        self._checked = 0.0

    async def refresh(self) -> Snapshot:
        """Check the pointer now (after a re-ingest in this process)."""
        self._checked = 0.0
        return await self.current()
