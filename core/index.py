"""The index format, shared by the writer (ingest) and the readers (every bot replica).

Layout in Chroma (embedded on disk, or a Chroma server):

* one collection per generation, ``{prefix}-g{N}-{suffix}``, holding every chunk with its
  embedding, text and metadata (including the Kiwi tokens the lexical index is built from,
  so a replica needs nothing but Chroma to serve);
* one pointer collection, ``{prefix}-meta``, whose metadata names the active generation and
  the embedder that built it. A generation becomes visible only when this pointer is switched,
  after it is complete; the previous generation is kept so readers that looked just before the
  switch can finish.
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from core.settings import Settings

logger = logging.getLogger(__name__)

#: Bump when the chunker changes in a way that should re-chunk unchanged files.
CHUNKER_VERSION = 13
#: Records per `get` when reading a whole generation.
READ_PAGE = 5_000


class IndexError_(RuntimeError):
    """The index cannot be used (missing, built by another embedder, store unreachable)."""


class IndexMissing(IndexError_):
    pass


class EmbedderMismatch(IndexError_):
    pass


class StoreUnavailable(IndexError_):
    pass


class StoreRefused(StoreUnavailable):
    """The Chroma server (or the proxy in front of it) will not serve this client as configured:
    it refused the token (HTTP 401/403), or TLS does not match. Waiting does not fix it; the
    message names the setting that does."""


class PointerMoved(IndexError_):
    """Another writer published a generation after this one read the pointer."""


class Unit(BaseModel):
    """A quotable piece of a chunk: a sentence, a list item, a list's lead-in or a table row."""

    kind: str  # "sentence" | "lead" | "item" | "row" | "cell"
    text: str
    label: str = ""  # a table cell's column header
    #: What the statement is about, labelled at ingest from the glossary: the roles it speaks
    #: of as its subject, and the topics (aspects: pay, skills, duties...) it speaks to.
    roles: list[str] = Field(default_factory=list)
    aspects: list[str] = Field(default_factory=list)
    #: Every role the statement names, subject or not ("경험이 많은 상담원과 리더급 직책은 ...").
    mentions: list[str] = Field(default_factory=list)


class Chunk(BaseModel):
    """One retrievable piece of a document, with everything a reader needs to cite it."""

    id: str
    text: str
    source: str
    title: str
    section: str
    position: int
    kind: str
    language: str = "ko"
    hash: str
    doc_hash: str
    units: list[Unit] = Field(default_factory=list)
    tokens: list[str] = Field(default_factory=list)
    published: str | None = None
    also_under: list[str] = Field(default_factory=list)
    #: The sentence before a list's lead-in: found by search, not shown ("다음 사이를..." needs it).
    context: str = ""
    generation: int = 0
    #: One embedding per unit, in order (`pack_vectors`): answers judge each statement against
    #: the question itself, not only its chunk. Empty in an index built before they existed.
    unit_vectors: str = ""

    def unit_texts(self) -> list[str]:
        """What is embedded for each unit: the statement under its heading and column."""
        leaf = self.section.split(" > ")[-1]
        return [
            f"{leaf}: {u.label}: {u.text}" if u.label else f"{leaf}: {u.text}" if leaf else u.text
            for u in self.units
        ]

    @property
    def embed_text(self) -> str:
        """What is embedded and tokenised: the section path (and the headings of sections it
        absorbed as duplicates) gives the passage its context."""
        return embed_text(self.section, self.also_under, self.text, self.context)

    def to_metadata(self) -> dict[str, str | int]:
        return {
            "source": self.source,
            "title": self.title,
            "section": self.section,
            "position": self.position,
            "kind": self.kind,
            "language": self.language,
            "hash": self.hash,
            "doc_hash": self.doc_hash,
            "units": json.dumps([u.model_dump() for u in self.units], ensure_ascii=False),
            "tokens": " ".join(self.tokens),
            "published": self.published or "",
            "also_under": json.dumps(self.also_under, ensure_ascii=False),
            "context": self.context,
            "generation": self.generation,
            "unit_vectors": self.unit_vectors,
        }

    @classmethod
    def from_record(cls, chunk_id: str, document: str, meta: dict[str, Any]) -> Chunk:
        return cls(
            id=chunk_id,
            text=document,
            source=str(meta["source"]),
            title=str(meta.get("title", "")),
            section=str(meta.get("section", "")),
            position=int(meta.get("position", 0)),
            kind=str(meta.get("kind", "prose")),
            language=str(meta.get("language", "ko")),
            hash=str(meta.get("hash", "")),
            doc_hash=str(meta.get("doc_hash", "")),
            units=[Unit(**u) for u in json.loads(str(meta.get("units") or "[]"))],
            tokens=str(meta.get("tokens", "")).split(),
            published=str(meta.get("published") or "") or None,
            also_under=json.loads(str(meta.get("also_under") or "[]")),
            context=str(meta.get("context") or ""),
            generation=int(meta.get("generation", 0)),
            unit_vectors=str(meta.get("unit_vectors") or ""),
        )


def pack_vectors(vectors: np.ndarray) -> str:
    """Unit vectors as base64 float16 (half the size; cosine ranks do not change)."""
    return base64.b64encode(np.asarray(vectors, dtype=np.float16).tobytes()).decode("ascii")


def unpack_vectors(packed: str, rows: int) -> np.ndarray | None:
    """The (rows, dim) float32 array `pack_vectors` wrote, or None if it does not fit."""
    if not packed or rows <= 0:
        return None
    flat = np.frombuffer(base64.b64decode(packed), dtype=np.float16)
    if flat.size % rows:
        return None
    return flat.reshape(rows, -1).astype(np.float32)


def embed_text(section: str, also_under: list[str], text: str, context: str = "") -> str:
    heading = section + (f" ({', '.join(also_under)})" if also_under else "")
    body = f"{context}\n{text}" if context else text
    return f"{heading}\n{body}" if heading else body


class Pointer(BaseModel):
    """What the meta collection says about the active generation."""

    collection: str
    generation: int
    embedder: str
    dim: int
    chunker: int = CHUNKER_VERSION
    previous: str = ""
    updated_at: str = ""
    documents: int = 0
    chunks: int = 0


def make_client(settings: Settings) -> Any:
    """A Chroma client: HTTP when CHROMA_HOST is set, otherwise embedded under DATA_DIR.

    For a server, CHROMA_TOKEN (in CHROMA_AUTH_HEADER) goes with every request, over TLS when
    CHROMA_SSL is set; a server that refuses them raises StoreRefused naming the setting.
    """
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    if not settings.chroma_server:
        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        settings.chroma_path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)
    token = settings.chroma_token
    # Every auth and TLS field is given, so none comes from chromadb's own reading of the
    # environment and .env (CHROMA_CLIENT_AUTH_CREDENTIALS and the like): ours are the settings.
    chroma_settings = ChromaSettings(
        anonymized_telemetry=False,
        allow_reset=False,
        chroma_client_auth_provider=(
            "chromadb.auth.token_authn.TokenAuthClientProvider" if token is not None else None
        ),
        chroma_client_auth_credentials=token.get_secret_value() if token is not None else None,
        chroma_auth_token_transport_header=settings.chroma_auth_header,
        chroma_server_ssl_verify=_tls_verify(settings),
    )
    _check_access(settings)
    return chromadb.HttpClient(
        host=settings.chroma_host,
        port=settings.chroma_port or 8000,
        ssl=settings.chroma_ssl,
        settings=chroma_settings,
    )


def _tls_verify(settings: Settings) -> bool | str:
    """Certificates are always verified: against CHROMA_CA_FILE when given."""
    return str(settings.chroma_ca_file) if settings.chroma_ca_file is not None else True


def auth_headers(settings: Settings) -> dict[str, str]:
    """The header chromadb's token provider sends for CHROMA_TOKEN (empty without a token)."""
    if settings.chroma_token is None:
        return {}
    token = settings.chroma_token.get_secret_value()
    if settings.chroma_auth_header == "Authorization":
        return {"Authorization": f"Bearer {token}"}
    return {"X-Chroma-Token": token}


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _check_access(settings: Settings) -> None:
    """Ask the server who we are, as the chromadb client does first, and turn a refusal into a
    message naming the setting.

    chromadb reports a proxy's 401 or 403 as a bare exception holding the response body, and a
    TLS mismatch as a connection error; neither says what to change. An unreachable server is
    left to chromadb, whose message ("Could not connect to a Chroma server") says it well.
    """
    import ssl

    import httpx
    from chromadb.api.base_http_client import BaseHTTPClient

    where = f"{settings.chroma_host}:{settings.chroma_port}"
    url = BaseHTTPClient.resolve_url(
        chroma_server_host=settings.chroma_host,
        chroma_server_ssl_enabled=settings.chroma_ssl,
        default_api_path="/api/v2",
        chroma_server_http_port=settings.chroma_port or 8000,
    )
    try:
        response = httpx.get(
            f"{url}/auth/identity",
            headers=auth_headers(settings),
            verify=_tls_verify(settings),
            timeout=10.0,
        )
    except httpx.ConnectError as exc:
        if _caused_by(exc, ssl.SSLError) or "SSL" in str(exc):
            hint = (
                "check CHROMA_CA_FILE (the CA that signed the server's certificate) and that "
                "the server or its proxy speaks TLS"
                if settings.chroma_ssl
                else "CHROMA_SSL is off"
            )
            raise StoreRefused(
                f"the TLS handshake with the Chroma server at {where} failed ({exc}): {hint}"
            ) from None
        return
    except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
        if settings.chroma_ssl:
            return
        # A TLS-only endpoint resets or hangs up on a plain HTTP request without answering.
        raise StoreRefused(
            f"the Chroma server at {where} closed the connection without answering ({exc}):"
            " does it expect TLS? CHROMA_SSL is off"
        ) from None
    except httpx.HTTPError:
        return  # timeouts and the like: chromadb's own attempt reports them
    if response.status_code in (401, 403):
        header = settings.chroma_auth_header
        if settings.chroma_token is None:
            fix = f"set CHROMA_TOKEN (sent as {header}) to the token the server expects"
        else:
            fix = (
                f"check CHROMA_TOKEN and CHROMA_AUTH_HEADER (now {header}): the server did not "
                "accept the token sent"
            )
        raise StoreRefused(
            f"the Chroma server at {where} refused this client (HTTP {response.status_code}): {fix}"
        )


class IndexStore:
    """Reads and writes generations and the pointer. Knows nothing about documents."""

    def __init__(self, settings: Settings, client: Any | None = None) -> None:
        self.settings = settings
        self._client = client
        self.prefix = settings.collection_prefix

    @property
    def client(self) -> Any:
        if self._client is None:
            try:
                self._client = make_client(self.settings)
            except StoreRefused:
                raise
            except Exception as exc:  # chromadb raises several types for an unreachable server
                raise StoreUnavailable(f"cannot reach the Chroma store: {exc}") from exc
        return self._client

    @property
    def meta_name(self) -> str:
        return f"{self.prefix}-meta"

    def _meta(self) -> Any:
        return self.client.get_or_create_collection(self.meta_name, embedding_function=None)

    def pointer(self) -> Pointer | None:
        """The active generation, or None when nothing was ever published."""
        try:
            meta = self._meta().metadata or {}
        except IndexError_:
            raise
        except Exception as exc:
            raise StoreUnavailable(f"cannot read the index pointer: {exc}") from exc
        if "collection" not in meta:
            return None
        return Pointer(**meta)

    def new_generation(
        self, generation: int, embedder: str, dim: int, extra: dict[str, str] | None = None
    ) -> Any:
        """Create the (empty, invisible) collection for a new generation."""
        suffix = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
        name = f"{self.prefix}-g{generation}-{suffix}"
        return self.client.create_collection(
            name,
            embedding_function=None,  # we always pass vectors; Chroma's default would download
            metadata={
                "hnsw:space": "cosine",
                "embedder": embedder,
                "dim": dim,
                "generation": generation,
                **(extra or {}),
            },
        )

    def collection(self, name: str) -> Any:
        return self.client.get_collection(name, embedding_function=None)

    def publish(self, pointer: Pointer, expected: str | None = None) -> None:
        """Make a complete generation the active one (a single metadata write).

        `expected` is the collection the pointer named when the writer read it ("" for none).
        Ingests on different machines sharing a Chroma server hold no common lock: if another
        one published since, this raises PointerMoved instead of replacing its generation with
        one built from older documents. (Check and write are two requests, milliseconds apart.)
        """
        if expected is not None:
            self.check_unmoved(expected)
        pointer.updated_at = datetime.now(UTC).isoformat(timespec="seconds")
        self._meta().modify(metadata=pointer.model_dump())
        logger.info("published generation %s (%s)", pointer.generation, pointer.collection)

    def check_unmoved(self, expected: str) -> None:
        """PointerMoved if the pointer no longer names `expected` ("" for no pointer)."""
        current = self.pointer()
        if (current.collection if current else "") != expected:
            moved = current.generation if current else 0
            raise PointerMoved(f"another ingest published generation {moved} while this one ran")

    def number(self, name: str) -> int:
        """The generation number in a generation collection's name (`{prefix}-g{N}-{suffix}`)."""
        return int(name.removeprefix(f"{self.prefix}-g").split("-", 1)[0])

    def generations(self) -> list[str]:
        """Names of every generation collection present, published or not."""
        names = [c if isinstance(c, str) else c.name for c in self.client.list_collections()]
        return sorted(n for n in names if n.startswith(f"{self.prefix}-g"))

    def drop(self, name: str) -> None:
        try:
            self.client.delete_collection(name)
        except Exception as exc:  # already gone is fine
            logger.debug("could not drop %s: %s", name, exc)

    def collect_garbage(self) -> list[str]:
        """Drop generations that are neither active nor the one just before it.

        This also removes what a killed ingest left half-written. A generation numbered past
        the active one is kept: another ingest (sharing a Chroma server) may be writing it.
        """
        pointer = self.pointer()
        if pointer is None:
            return []
        keep = {pointer.collection, pointer.previous}
        dropped = [
            n for n in self.generations() if n not in keep and self.number(n) <= pointer.generation
        ]
        for name in dropped:
            self.drop(name)
        return dropped

    def records(self, name: str, include: list[str]) -> dict[str, list[Any]]:
        """Every record of a generation: "ids" and the `include` fields, each a list.

        Read in pages: one `get` of a whole large generation fails in embedded Chroma (SQLite
        allows 32,766 variables per statement, and Chroma binds one per record).
        """
        collection = self.collection(name)
        out: dict[str, list[Any]] = {"ids": [], **{field: [] for field in include}}
        while True:
            got = collection.get(include=include, limit=READ_PAGE, offset=len(out["ids"]))
            for field, values in out.items():
                page = got[field]
                values.extend(page if page is not None else [])
            if len(got["ids"]) < READ_PAGE:
                return out

    def read_chunks(self, name: str) -> list[Chunk]:
        """Every chunk of a generation, in document order."""
        got = self.records(name, ["documents", "metadatas"])
        chunks = [
            Chunk.from_record(cid, doc or "", meta or {})
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        ]
        chunks.sort(key=lambda c: (c.source, c.position))
        return chunks

    def check_embedder(self, pointer: Pointer, identity: str) -> None:
        if pointer.embedder != identity:
            raise EmbedderMismatch(
                f"the index was built with embedder '{pointer.embedder}' but this process uses "
                f"'{identity}'. Set EMBEDDINGS to match, or rebuild with "
                "`career-bot ingest --rebuild`."
            )


def as_vectorstore(store: IndexStore, embeddings: Any) -> Any:
    """The active generation as a langchain-chroma `VectorStore`, for langchain chains.

    `embeddings` is a langchain `Embeddings` (`E5Embeddings.as_langchain()`); it must be the
    embedder that built the index. Read-only use: ingest writes generations itself, because
    langchain-chroma's writes always re-embed and store the embedded text as the document.
    """
    from langchain_chroma import Chroma

    pointer = store.pointer()
    if pointer is None:
        raise IndexMissing("no index has been published yet; run `career-bot ingest`")
    return Chroma(
        client=store.client, collection_name=pointer.collection, embedding_function=embeddings
    )
