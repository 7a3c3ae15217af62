"""The answering core: a `Question` in, a grounded `Answer` out.

`advisor.py` reads the question and remembers the thread, `scope.py` tells what the documents
don't cover, `analysis.py` and `retrieval.py` find the passages, `knowledge.py` serves the
published index, `compose.py` writes the extractive answer, `llm.py` the optional LLM one (`grounding.py`
checks it keeps to the passages),
`paths.py` the career paths and their picture, `models.py` and `messages.py` the types and
texts they share. Nothing here knows about a chat platform.
"""
