"""Cutting text to a platform's length limit, the same way on every platform.

Pieces end where a reader expects a break: a paragraph, a line, a sentence, a word, and only
failing those mid-word. A cut never falls inside an HTML entity (`&amp;`, `&lt;`, `&gt;`), so
text escaped for Slack stays well formed on both sides of it.
"""

from __future__ import annotations

import re

#: Where a piece may end, best first; a break counts when it keeps at least half the piece.
_BREAKS = ("\n\n", "\n", ". ", "다. ", " ")
_ENTITY = re.compile(r"&(?:amp|lt|gt);")
_LONGEST_ENTITY = len("&amp;")


def _safe_cut(text: str, limit: int) -> int:
    """An index <= limit to cut `text` at without splitting an entity."""
    amp = text.rfind("&", max(0, limit - _LONGEST_ENTITY + 1), limit)
    entity = _ENTITY.match(text, amp) if amp != -1 else None
    return amp if entity is not None and entity.end() > limit else limit


def _cut_point(text: str, limit: int) -> int:
    window = text[:limit]
    for separator in _BREAKS:
        at = window.rfind(separator)
        if at >= limit // 2:
            return at + len(separator)
    return max(_safe_cut(text, limit), 1)  # at least one character, so splitting ends


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters, cut at paragraph, line, sentence or word ends.

    White space at the cuts and around the text is dropped; empty text gives no pieces.
    """
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = _cut_point(rest, limit)
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters, a cut marked with an ellipsis and never inside an entity."""
    if len(text) <= limit:
        return text
    return text[: _safe_cut(text, limit - 1)].rstrip() + "…"
