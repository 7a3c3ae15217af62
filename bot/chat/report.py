"""What the knowledge lacks, for admins: declined questions and down-voted answers, grouped.

Questions are grouped by meaning with the embedder the bot already has loaded (a greedy pass:
each question joins the most similar group above a threshold, or starts one), ranked by how
often they came up. Down-voted answers bring the documents they cited, so an admin sees which
document to add or fix before the next re-ingest. What people typed is shown, never acted
on: a terminal escape sequence in a question is printed as text (`shown`).
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections import Counter

import numpy as np
from pydantic import BaseModel, Field

from bot.advisor.knowledge import Snapshot
from bot.advisor.retrieval import QueryEmbedder
from bot.state import Scope, StateStore

#: Cosine similarity (e5 query vectors) above which two questions count as the same question.
#: e5 puts different questions of one domain at 0.75-0.89 and rephrasings at 0.92 and above.
SIMILAR = 0.91
MAX_GROUPS = 50
MAX_VARIANTS = 5
#: Distinct wordings embedded for grouping, most frequent first. The report runs inside a live
#: bot and each embedding takes the embedder from answers for a few ms; the wordings left out
#: were each asked at most as often as the last one kept, so no frequent question is hidden.
MAX_WORDINGS = 500

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw]?)\s*$", re.IGNORECASE)
_UNIT_S = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "": 86400}
#: What a terminal acts on instead of showing: control characters (ESC starts the sequences
#: that recolour, move the cursor or retitle the window, and C1 has a CSI of its own), the
#: bidi overrides and isolates that reorder the text around them, and lone surrogates (which
#: no terminal encoding can print). The store no longer keeps control characters; rows
#: written before it cleaned text still hold them.
_UNSHOWABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def shown(text: str) -> str:
    """`text` safe to print: each character a terminal would act on written as its escape
    (ESC as the four characters `\\x1b`), so an admin sees it instead of obeying it."""
    return _UNSHOWABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def sources_of(snap: Snapshot | None, chunk_ids: list[str]) -> list[str]:
    """ "document › section" for each chunk of the served snapshot, in order: what a vote's
    answer cited, kept so the report can name it after a re-ingest has replaced the chunks."""
    labels: list[str] = []
    for chunk_id in chunk_ids:
        index = snap.by_id.get(chunk_id) if snap is not None else None
        if snap is None or index is None:
            continue
        chunk = snap.chunks[index]
        label = f"{chunk.source} › {chunk.section}" if chunk.section else chunk.source
        if label not in labels:
            labels.append(label)
    return labels


def parse_since(value: str) -> float:
    """ "7d", "24h", "90m", "2w" or a bare number of days, as seconds; ValueError otherwise."""
    match = _DURATION.match(value or "")
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"not a duration: {value!r} (try 7d, 24h, 90m or 2w)")
    return float(match.group(1)) * _UNIT_S[match.group(2).lower()]


def _normal(text: str) -> str:
    """The same question typed twice: case, width, spacing and trailing punctuation ignored."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"[\s\u200b]+", " ", text).strip()
    return text.rstrip(" ?.!？。…")


class ReportGroup(BaseModel):
    """One question people keep asking that the bot could not answer well."""

    question: str  # the most frequent wording
    count: int  # declines plus not-helpful votes
    declined: int
    not_helpful: int
    variants: list[str] = Field(default_factory=list)  # other wordings, most frequent first
    documents: list[str] = Field(default_factory=list)  # cited by the down-voted answers


class Report(BaseModel):
    since: float
    until: float
    declined_total: int
    not_helpful_total: int
    groups: list[ReportGroup]

    @property
    def days(self) -> float:
        return (self.until - self.since) / 86400

    def render(self, limit: int = 15) -> str:
        """Plain text for the terminal and chat (no markup: adapters escape it)."""
        span = f"{self.days:g} days" if self.days >= 1 else f"{self.days * 24:g} hours"
        head = (
            f"What the knowledge lacks — last {span}: {self.declined_total} declined "
            f"question(s), {self.not_helpful_total} answer(s) voted not helpful."
        )
        if not self.groups:
            return head + "\nNothing to fix: no declines or down-votes in that period."
        lines = [head, ""]
        for n, group in enumerate(self.groups[:limit], start=1):
            why = []
            if group.declined:
                why.append(f"declined {group.declined}×")
            if group.not_helpful:
                why.append(f"not helpful {group.not_helpful}×")
            lines.append(f"{n}. {group.question}  ({', '.join(why)})")
            if group.variants:
                lines.append("   also asked as: " + " | ".join(group.variants))
            if group.documents:
                lines.append("   cited: " + "; ".join(group.documents))
        if len(self.groups) > limit:
            lines.append(f"… and {len(self.groups) - limit} more (career-bot report --json)")
        return "\n".join(lines)


class _Group:
    def __init__(self, vector: np.ndarray) -> None:
        self.vector = vector
        self.wordings: Counter[str] = Counter()
        self.declined = 0
        self.not_helpful = 0
        self.documents: Counter[str] = Counter()


def group_questions(
    items: list[tuple[str, bool, list[str]]], embedder: QueryEmbedder
) -> list[ReportGroup]:
    """Group (question, was_declined, cited documents) items by meaning, most frequent first."""
    by_text: dict[str, list[tuple[str, bool, list[str]]]] = {}
    for item in items:
        key = _normal(item[0])
        if key:
            by_text.setdefault(key, []).append(item)
    # Most frequent wordings seed the groups, so a group is named after its usual wording.
    order = sorted(by_text, key=lambda k: (-len(by_text[k]), k))[:MAX_WORDINGS]
    groups: list[_Group] = []
    for key in order:
        rows = by_text[key]
        vector = embedder.query(rows[0][0])
        best, best_sim = None, SIMILAR
        for group in groups:
            sim = float(np.dot(group.vector, vector))
            if sim >= best_sim:
                best, best_sim = group, sim
        if best is None:
            best = _Group(vector)
            groups.append(best)
        for question, declined, documents in rows:
            best.wordings[" ".join(question.split())] += 1
            if declined:
                best.declined += 1
            else:
                best.not_helpful += 1
                best.documents.update(documents)
    result = []
    for group in groups:
        wordings = [w for w, _ in group.wordings.most_common()]
        # Shown once here, so the text, the JSON and the chat reply all carry the safe form.
        result.append(
            ReportGroup(
                question=shown(wordings[0]),
                count=group.declined + group.not_helpful,
                declined=group.declined,
                not_helpful=group.not_helpful,
                variants=[shown(w) for w in wordings[1 : 1 + MAX_VARIANTS]],
                documents=[f"{shown(d)} ({n}×)" for d, n in group.documents.most_common(5)],
            )
        )
    result.sort(key=lambda g: (-g.count, -g.not_helpful, g.question))
    return result[:MAX_GROUPS]


async def build_report(
    state: StateStore,
    embedder: QueryEmbedder,
    since_s: float,
    *,
    now: float | None = None,
    scope: Scope | None = None,
) -> Report:
    """The report over the last `since_s` seconds, of what `scope` covers (everything when
    None: the command line's); StateUnavailable if the store is down."""
    import asyncio

    until = time.time() if now is None else now
    since = until - since_s
    declined = await state.declined(since, scope)
    down = [v for v in await state.votes(since, scope) if v.vote < 0]
    items: list[tuple[str, bool, list[str]]] = [(q, True, []) for q in declined]
    items += [(v.question, False, list(v.sources)) for v in down]
    groups = await asyncio.to_thread(group_questions, items, embedder)
    return Report(
        since=since,
        until=until,
        declined_total=len(declined),
        not_helpful_total=len(down),
        groups=groups,
    )
