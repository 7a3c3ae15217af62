"""What crosses the advisor's boundary: a typed question in, a typed answer out."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Platform = Literal["console", "slack", "discord", "cli", "eval", "test"]
Language = Literal["ko", "en"]


class Question(BaseModel):
    """A question as any chat surface hands it to the advisor."""

    text: str
    user_id: str = "anonymous"
    conversation_id: str = "default"
    platform: Platform = "console"


class Citation(BaseModel):
    """A source an answer quotes: which document, which section, what it says there."""

    marker: int  # the [n] shown next to the statements it supports
    source: str  # file name under knowledge/
    title: str  # document title
    section: str  # heading path inside the document
    text: str  # the quoted snippet
    score: float
    chunk_id: str
    published: str | None = None


class Timing(BaseModel):
    """Milliseconds spent in each step of answering."""

    embed_ms: float = 0.0
    dense_ms: float = 0.0
    lexical_ms: float = 0.0
    compose_ms: float = 0.0
    llm_ms: float = 0.0
    total_ms: float = 0.0


class Answer(BaseModel):
    """The advisor's reply. `text` is plain text with [n] markers; `citations` list the sources."""

    text: str
    citations: list[Citation] = Field(default_factory=list)
    abstained: bool = False
    language: Language = "ko"
    #: Why the reply is what it is: "answer", "out_of_scope", "empty", "unavailable", "error".
    kind: str = "answer"
    notice: str = ""  # e.g. "your message was shortened to 2,000 characters"
    focus: str = ""  # the role or topic the conversation is now about
    sections_hint: list[str] = Field(default_factory=list)  # sections the user can ask more about
    timing: Timing = Field(default_factory=Timing)
    generated_by: Literal["extractive", "llm"] = "extractive"
    #: Career-path answers: the catalogue role ids to highlight on the ladder picture, and
    #: what was asked ("path", "next", "skills", "pay"); empty for every other answer.
    path: list[str] = Field(default_factory=list)
    path_kind: str = ""
    #: The index generation the answer was read from (None when no index was reached).
    generation: int | None = None

    @property
    def chunk_ids(self) -> list[str]:
        return [c.chunk_id for c in self.citations]
