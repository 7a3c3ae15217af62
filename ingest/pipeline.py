"""The ingest run: documents -> chunks -> embeddings -> a new, atomically published generation."""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field

from core.embeddings import make_embeddings
from core.glossary import Glossary, GlossaryError, load_glossary
from core.index import (
    CHUNKER_VERSION,
    Chunk,
    IndexStore,
    Pointer,
    PointerMoved,
    StoreRefused,
    pack_vectors,
)
from core.korean import make_tokenizer
from core.published import PublishedData
from core.roles import RolesError, load_roles
from core.settings import Settings
from ingest.chunker import chunk_document
from ingest.labels import label_chunks
from ingest.loader import Skipped, UnreadableFile, discover, load_document
from ingest.structure import parse

logger = logging.getLogger(__name__)

EMBED_BATCH = 16
WRITE_BATCH = 500

#: Called as progress(stage, done, total); stages are "read", "embed" and "write".
Progress = Callable[[str, int, int], None]


class Embedder(Protocol):
    @property
    def identity(self) -> str: ...

    dim: int

    def passages(self, texts: list[str]) -> Any: ...


class IngestError(RuntimeError):
    """The run failed; the previously published index is still the one being served."""


class IngestBusy(IngestError):
    """Another ingest holds the lock."""


class DocumentChange(BaseModel):
    source: str
    status: str  # "added" | "updated" | "removed" | "unchanged"
    chunks: int


class IngestReport(BaseModel):
    documents: int = 0
    chunks: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: list[Skipped] = Field(default_factory=list)
    #: Published documents whose file broke: their previous version goes on serving.
    kept: list[Skipped] = Field(default_factory=list)
    seconds: float = 0.0
    embedded: int = 0  # chunks embedded in this run
    reused: int = 0  # chunks whose embedding was carried over
    generation: int = 0
    published: bool = False
    changes: list[DocumentChange] = Field(default_factory=list)
    duplicates: list[dict[str, str]] = Field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The keys `career-bot ingest --json` promises."""
        return self.model_dump(
            include={"documents", "chunks", "added", "updated", "removed", "unchanged"}
        ) | {
            "skipped": [s.model_dump() for s in self.skipped],
            "kept": [k.model_dump() for k in self.kept],
            "seconds": round(self.seconds, 3),
            "embedded": self.embedded,
            "reused": self.reused,
            "generation": self.generation,
            "published": self.published,
            "changes": [c.model_dump() for c in self.changes],
            "duplicates": self.duplicates,
        }


@contextmanager
def ingest_lock(data_dir: Path) -> Iterator[None]:
    """One ingest at a time per data directory; a second one is refused, not queued."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "ingest.lock"
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise IngestBusy(
                f"another ingest is already running ({holder}); wait for it to finish"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _noop(stage: str, done: int, total: int) -> None:
    return None


def is_stale(settings: Settings, store: IndexStore | None = None) -> bool:
    """True when the published index is missing or no longer matches `knowledge/`."""
    store = store or IndexStore(settings)
    pointer = store.pointer()
    if pointer is None or pointer.chunker != CHUNKER_VERSION:
        return True
    if pointer.embedder != make_embeddings(settings.embeddings).identity:
        return True
    files, _ = discover(settings.knowledge_dir)
    published = _published_hashes(store, pointer)
    current: dict[str, str] = {}
    for path in files:
        try:
            doc = load_document(path, settings.knowledge_dir, settings.max_document_bytes)
        except UnreadableFile:
            continue
        current[doc.source] = doc.sha
    data = load_data_files(settings.knowledge_dir)
    return current != published or published_data_shas(store, pointer) != _shas(data)


def _published_hashes(store: IndexStore, pointer: Pointer) -> dict[str, str]:
    got = store.records(pointer.collection, ["metadatas"])
    return {str(m["source"]): str(m["doc_hash"]) for m in got["metadatas"] if m}


def _moved(store: IndexStore, expected: str, exc: BaseException) -> PointerMoved | None:
    """The pointer moved while a failed run wrote (None if it did not, or cannot be read)."""
    if not isinstance(exc, Exception):
        return None
    try:
        store.check_unmoved(expected)
    except PointerMoved as moved:
        return moved
    except Exception:
        return None
    return None


def load_data_files(knowledge_dir: Path) -> dict[str, PublishedData]:
    """The data files published with every generation, validated (errors name the line)."""
    return {"glossary": load_glossary(knowledge_dir), "roles": load_roles(knowledge_dir)}


def _shas(data: dict[str, PublishedData]) -> dict[str, str]:
    return {name: item.sha for name, item in data.items()}


def published_data_shas(store: IndexStore, pointer: Pointer) -> dict[str, str]:
    """The hashes of the data files the active generation was published with."""
    meta = store.collection(pointer.collection).metadata or {}
    return {name: str(meta.get(f"{name}_sha", "")) for name in ("glossary", "roles")}


def run_ingest(
    settings: Settings,
    *,
    rebuild: bool = False,
    progress: Progress = _noop,
    embedder: Embedder | None = None,
    store: IndexStore | None = None,
) -> IngestReport:
    """Ingest `settings.knowledge_dir` and publish a new generation if anything changed.

    Raises IngestError (the old generation keeps serving), IngestBusy, or StoreRefused (the
    Chroma server refused the token or TLS settings; its message names the setting).
    """
    started = time.perf_counter()
    knowledge_dir = settings.knowledge_dir
    if not knowledge_dir.is_dir():
        raise IngestError(f"knowledge directory {knowledge_dir} does not exist")
    with ingest_lock(settings.data_dir):
        store = store or IndexStore(settings)
        used: Embedder = embedder if embedder is not None else make_embeddings(settings.embeddings)
        try:
            report = _run(settings, store, used, rebuild, progress)
        except (IngestError, StoreRefused):
            raise  # StoreRefused: a setting to fix, said without a traceback
        except (GlossaryError, RolesError) as exc:
            raise IngestError(str(exc)) from exc
        except Exception as exc:
            logger.exception("ingest failed")
            raise IngestError(f"ingest failed, the previous index is still served: {exc}") from exc
    report.seconds = time.perf_counter() - started
    return report


def _run(
    settings: Settings,
    store: IndexStore,
    embedder: Embedder,
    rebuild: bool,
    progress: Progress,
) -> IngestReport:
    report = IngestReport()
    data = load_data_files(settings.knowledge_dir)
    pointer = store.pointer()
    if pointer is not None and pointer.embedder != embedder.identity:
        logger.warning(
            "index was built by %s, re-embedding everything with %s",
            pointer.embedder,
            embedder.identity,
        )
        rebuild = True
    old: dict[str, list[Chunk]] = {}
    old_data: dict[str, str] = {}
    if pointer is not None:
        for chunk in store.read_chunks(pointer.collection):
            old.setdefault(chunk.source, []).append(chunk)
        old_data = published_data_shas(store, pointer)
    rechunk = rebuild or pointer is None or pointer.chunker != CHUNKER_VERSION

    files, skipped = discover(settings.knowledge_dir)
    report.skipped.extend(skipped)
    chunks: list[Chunk] = []
    seen_sources: set[str] = set()
    tok = None
    for n, path in enumerate(files, start=1):
        progress("read", n - 1, len(files))
        try:
            doc = load_document(path, settings.knowledge_dir, settings.max_document_bytes)
        except UnreadableFile as exc:
            rel = path.relative_to(settings.knowledge_dir).as_posix()
            report.skipped.append(Skipped(source=rel, reason=str(exc)))
            if rel in old:  # published before: a broken file never removes its document
                logger.warning("%s is broken (%s); its published version is kept", rel, exc)
                report.kept.append(Skipped(source=rel, reason=str(exc)))
                seen_sources.add(rel)
                chunks.extend(old[rel])
            else:
                logger.warning("skipping %s: %s", rel, exc)
            continue
        seen_sources.add(doc.source)
        previous = old.get(doc.source)
        if previous and not rechunk and previous[0].doc_hash == doc.sha:
            chunks.extend(previous)
            report.changes.append(
                DocumentChange(source=doc.source, status="unchanged", chunks=len(previous))
            )
            continue
        tok = tok or make_tokenizer()
        parsed = parse(doc.text, doc.title, markdown=doc.format in {"md", "html"})
        result = chunk_document(doc, parsed, tok)
        if not result.chunks:
            report.skipped.append(Skipped(source=doc.source, reason="no text left after cleaning"))
            seen_sources.discard(doc.source)
            continue
        report.duplicates.extend(
            {"source": doc.source, "heading": d.heading, "kept_under": d.kept_under}
            for d in result.duplicates
        )
        chunks.extend(result.chunks)
        status = (
            "added"
            if previous is None
            else ("unchanged" if previous[0].doc_hash == doc.sha else "updated")
        )
        report.changes.append(
            DocumentChange(source=doc.source, status=status, chunks=len(result.chunks))
        )
    progress("read", len(files), len(files))
    for source in sorted(set(old) - seen_sources):
        report.changes.append(
            DocumentChange(source=source, status="removed", chunks=len(old[source]))
        )

    for change in report.changes:
        setattr(report, change.status, getattr(report, change.status) + 1)
    report.documents = len(seen_sources)
    report.chunks = len(chunks)
    if not chunks:
        raise IngestError(
            "no usable documents in the knowledge directory; the current index is left as it is"
        )
    nothing_changed = (
        pointer is not None
        and not rechunk
        and report.added == report.updated == report.removed == 0
        and old_data == _shas(data)
    )
    if nothing_changed:
        assert pointer is not None
        report.generation = pointer.generation
        report.reused = len(chunks)
        return report

    # Labels depend on the glossary as well as the text: every chunk, reused or new, is
    # labelled with the glossary being published.
    glossary = data["glossary"]
    assert isinstance(glossary, Glossary)
    label_chunks(chunks, glossary, tok or make_tokenizer())
    generation = (pointer.generation if pointer else 0) + 1
    _publish(store, embedder, pointer, generation, chunks, data, rebuild, progress, report)
    return report


def _publish(
    store: IndexStore,
    embedder: Embedder,
    pointer: Pointer | None,
    generation: int,
    chunks: list[Chunk],
    data: dict[str, PublishedData],
    rebuild: bool,
    progress: Progress,
    report: IngestReport,
) -> None:
    """Write a complete new generation, then switch the pointer to it; undo on any failure."""
    # Embeddings of chunks whose text did not change are carried over, not recomputed.
    reusable: dict[str, list[float]] = {}
    reusable_units: dict[str, str] = {}
    if pointer is not None and not rebuild:
        wanted = {c.hash for c in chunks}
        got = store.records(pointer.collection, ["embeddings", "metadatas"])
        for emb, meta in zip(got["embeddings"], got["metadatas"], strict=True):
            if meta and meta["hash"] in wanted:
                reusable[str(meta["hash"])] = list(map(float, emb))
                reusable_units[str(meta["hash"])] = str(meta.get("unit_vectors") or "")
    for chunk in chunks:
        chunk.unit_vectors = reusable_units.get(chunk.hash, "")

    # The same passage can occur twice only across documents; ids are per document and text.
    unique: dict[str, Chunk] = {}
    for chunk in chunks:
        unique.setdefault(chunk.id, chunk)
    chunks = list(unique.values())
    for chunk in chunks:
        chunk.generation = generation

    expected = pointer.collection if pointer else ""
    collection = store.new_generation(
        generation,
        embedder.identity,
        embedder.dim,
        extra={
            key: value
            for name, item in data.items()
            for key, value in ((name, item.to_json()), (f"{name}_sha", item.sha))
        },
    )
    try:
        todo = [c for c in chunks if c.hash not in reusable]
        vectors: dict[str, list[float]] = {}
        for start in range(0, len(todo), EMBED_BATCH):
            progress("embed", start, len(todo))
            batch = todo[start : start + EMBED_BATCH]
            for chunk, vec in zip(
                batch, embedder.passages([c.embed_text for c in batch]), strict=True
            ):
                vectors[chunk.id] = [float(x) for x in vec]
        progress("embed", len(todo), len(todo))
        # Each statement's own vector, for judging it against the question at answer time.
        need = [c for c in chunks if c.units and not c.unit_vectors]
        for start in range(0, len(need), EMBED_BATCH):
            progress("embed units", start, len(need))
            batch = need[start : start + EMBED_BATCH]
            texts = [t for c in batch for t in c.unit_texts()]
            matrix = embedder.passages(texts)
            at = 0
            for chunk in batch:
                chunk.unit_vectors = pack_vectors(matrix[at : at + len(chunk.units)])
                at += len(chunk.units)
        progress("embed units", len(need), len(need))
        for start in range(0, len(chunks), WRITE_BATCH):
            progress("write", start, len(chunks))
            batch = chunks[start : start + WRITE_BATCH]
            collection.add(
                ids=[c.id for c in batch],
                embeddings=[vectors.get(c.id) or reusable[c.hash] for c in batch],
                documents=[c.text for c in batch],
                metadatas=[c.to_metadata() for c in batch],
            )
        progress("write", len(chunks), len(chunks))
        if collection.count() != len(chunks):
            raise IngestError(
                f"the new generation holds {collection.count()} chunks, expected {len(chunks)}"
            )
        store.publish(
            Pointer(
                collection=collection.name,
                generation=generation,
                embedder=embedder.identity,
                dim=embedder.dim,
                previous=pointer.collection if pointer else "",
                documents=report.documents,
                chunks=len(chunks),
            ),
            expected=expected,
        )
    except BaseException as exc:
        store.drop(collection.name)
        # Another ingest sharing the Chroma server published first; its garbage collection may
        # even have dropped this run's collection mid-write. Either way, say that plainly.
        moved = exc if isinstance(exc, PointerMoved) else _moved(store, expected, exc)
        if moved is not None:
            raise IngestError(
                f"{moved}; its index is the one served. "
                "Run the ingest again to publish these documents."
            ) from exc
        raise
    report.embedded = len(todo)
    report.reused = len(chunks) - len(todo)
    report.chunks = len(chunks)
    report.generation = generation
    report.published = True
    dropped = store.collect_garbage()
    if dropped:
        logger.info("dropped old generations: %s", ", ".join(dropped))
