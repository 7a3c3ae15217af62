"""Everyday English, to tell a rare word (a company, a product) from the language itself."""

from __future__ import annotations

import gzip
from functools import cache
from importlib.resources import files


@cache
def english_words() -> frozenset[str]:
    """wordfreq's ~59k most frequent English words, lower case (see core/data/README.md)."""
    data = files("core").joinpath("data", "english_words.txt.gz").read_bytes()
    text = gzip.decompress(data).decode("utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())
