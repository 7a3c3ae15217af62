"""Data files that travel with the index (the glossary, the role catalogue)."""

from __future__ import annotations

import hashlib
import json
from typing import Self

from pydantic import BaseModel


class PublishedData(BaseModel):
    """A validated data file, stored in each generation's metadata as JSON with its hash, so
    every replica reads the same copy and ingest can tell whether it changed."""

    @property
    def sha(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    def to_json(self) -> str:
        return json.dumps(self.model_dump(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Self:
        return cls.model_validate_json(text) if text else cls()
