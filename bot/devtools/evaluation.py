"""The question-set evaluation: does the advisor say what the documents say, and decline the rest?

Format, one JSON object a line: `q` the question, `kind` (`fact`, `list` or `oos`), `any` the
key phrases of a good answer and `min` how many must appear (compared with all whitespace
removed); lines sharing a `conv` id are one conversation, in order.
"""

from __future__ import annotations

import json
import secrets
from collections import defaultdict
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError
from rich.console import Console
from rich.table import Table

from bot.advisor.models import Answer, Question
from core.settings import Settings


class Case(BaseModel):
    q: str
    kind: str
    any: list[str] = Field(default_factory=list)
    min: int = 1
    conv: str | None = None
    id: str | None = None


class Miss(BaseModel):
    id: str
    q: str
    kind: str
    missing: list[str]
    reason: str
    answer: str


class EvalResult(BaseModel):
    total: int
    hits: int
    per_kind: dict[str, dict[str, int]]
    misses: list[Miss]
    latency_ms_p50: float

    @property
    def score(self) -> float:
        return self.hits / self.total if self.total else 0.0

    def print(self, console: Console) -> None:
        table = Table(title="Evaluation")
        table.add_column("kind")
        table.add_column("hits", justify="right")
        table.add_column("total", justify="right")
        for kind, counts in sorted(self.per_kind.items()):
            table.add_row(kind, str(counts["hits"]), str(counts["total"]))
        console.print(table)
        for miss in self.misses:
            console.print(f"[red]MISS[/] {miss.id} [{miss.kind}] {miss.q}")
            console.print(f"     {miss.reason}; missing: {', '.join(miss.missing) or '-'}")
            console.print("     " + miss.answer.replace("\n", "\n     ")[:600])
        console.print(f"latency p50 {self.latency_ms_p50:.1f} ms")
        console.print(f"score {self.hits}/{self.total} = {self.score:.1%}")


def load_cases(path: Path) -> list[Case]:
    cases: list[Case] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            case = Case.model_validate(json.loads(line))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise ValueError(f"{path}:{n}: not a valid case: {exc}") from exc
        if case.kind not in {"fact", "list", "oos"}:
            raise ValueError(f"{path}:{n}: kind must be fact, list or oos")
        case.id = case.id or f"line{n}"
        cases.append(case)
    return cases


def _squash(text: str) -> str:
    return "".join(text.split())


def judge(case: Case, answer: Answer) -> tuple[bool, list[str], str]:
    """(hit, missing phrases, reason)."""
    if case.kind == "oos":
        return (
            answer.abstained,
            [],
            "answered an out-of-scope question" if not answer.abstained else "",
        )
    if answer.abstained:
        return False, case.any, "declined an in-scope question"
    text = _squash(answer.text)
    found = [p for p in case.any if _squash(p) in text]
    need = min(case.min, len(case.any)) if case.any else 0
    missing = [p for p in case.any if p not in found]
    return len(found) >= need, missing, f"found {len(found)} of the {need} needed"


async def run_eval(settings: Settings, cases: list[Case]) -> EvalResult:
    """Ask every case in order (conversations share an id) and judge the answers."""
    from bot.advisor.advisor import build_advisor
    from bot.state import MemoryStateStore

    # A private, throw-away memory: evaluation must not read or pollute real conversations.
    run = secrets.token_hex(4)
    state = MemoryStateStore()
    await state.start()
    advisor = await build_advisor(settings, state=state)
    per_kind: dict[str, dict[str, int]] = defaultdict(lambda: {"hits": 0, "total": 0})
    misses: list[Miss] = []
    latencies: list[float] = []
    hits = 0
    try:
        for case in cases:
            conv = f"eval:{run}:{case.conv or case.id}"
            answer = await advisor.ask(Question(text=case.q, conversation_id=conv, platform="eval"))
            latencies.append(answer.timing.total_ms)
            ok, missing, reason = judge(case, answer)
            per_kind[case.kind]["total"] += 1
            if ok:
                hits += 1
                per_kind[case.kind]["hits"] += 1
            else:
                misses.append(
                    Miss(
                        id=case.id or "",
                        q=case.q,
                        kind=case.kind,
                        missing=missing,
                        reason=reason,
                        answer=answer.text,
                    )
                )
    finally:
        await advisor.close()
    latencies.sort()
    return EvalResult(
        total=len(cases),
        hits=hits,
        per_kind=dict(per_kind),
        misses=misses,
        latency_ms_p50=latencies[len(latencies) // 2] if latencies else 0.0,
    )
