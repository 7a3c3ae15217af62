"""`career-bot`: the project's one command line."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.advisor.models import Answer, Question
from bot.state.base import clean_text
from core.settings import Settings

if TYPE_CHECKING:
    from bot.advisor.advisor import Advisor

logger = logging.getLogger(__name__)

app = typer.Typer(
    help="Call-Center Career Advisor: grounded answers about call-center careers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
out = Console()


@app.callback()
def _root() -> None:
    """Call-Center Career Advisor: grounded answers about call-center careers."""


def load_settings(**overrides: object) -> Settings:
    """Build Settings from the environment and .env, or exit 2 with a message a person can act on."""
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValidationError as exc:
        console.print("[bold red]Configuration error[/]")
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "settings"
            console.print(f"  {where.upper()}: {escape(str(err['msg']))}")
        console.print("See .env.example for every setting.")
        raise typer.Exit(2) from None
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Chroma and httpx are chatty at INFO; their warnings still show.
    for name in ("chromadb", "httpx", "httpcore", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return settings


@app.command()
def ingest(
    knowledge_dir: Annotated[
        Path | None, typer.Option(help="Directory of documents (default: KNOWLEDGE_DIR).")
    ] = None,
    rebuild: Annotated[bool, typer.Option(help="Re-chunk and re-embed everything.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    if_stale: Annotated[
        bool, typer.Option(help="Only ingest when the index is missing or out of date.")
    ] = False,
) -> None:
    """Build or update the index from the documents in the knowledge directory."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

    from core.index import StoreRefused, StoreUnavailable
    from ingest import IngestBusy, IngestError, is_stale, run_ingest

    settings = load_settings(knowledge_dir=knowledge_dir)
    if not settings.knowledge_dir.is_dir():
        console.print(
            f"[red]Knowledge directory {escape(str(settings.knowledge_dir))} does not exist.[/]"
        )
        raise typer.Exit(2)
    if if_stale:
        try:
            stale = is_stale(settings)
        except StoreUnavailable as exc:
            console.print(f"[red]{escape(str(exc))}[/]")
            raise typer.Exit(2 if isinstance(exc, StoreRefused) else 1) from None
        if not stale:
            if not as_json:
                console.print("Index is up to date.")
            return
    labels = {"read": "Reading documents", "embed": "Embedding chunks", "write": "Writing index"}
    show = console.is_terminal and not as_json
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        disable=not show,
        transient=True,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=max(total, 1))
            bar.update(tasks[stage], completed=done, total=max(total, 1))

        try:
            report = run_ingest(settings, rebuild=rebuild, progress=progress)
        except IngestBusy as exc:
            console.print(f"[yellow]{escape(str(exc))}[/]")
            raise typer.Exit(1) from None
        except IngestError as exc:
            console.print(f"[red]{escape(str(exc))}[/]")
            raise typer.Exit(1) from None
        except StoreRefused as exc:  # a setting to fix, like a configuration error
            console.print(f"[red]{escape(str(exc))}[/]")
            raise typer.Exit(2) from None
    if as_json:
        out.print_json(json.dumps(report.summary(), ensure_ascii=False))
        return
    table = Table(title="Ingest report", show_header=False)
    for key in ("documents", "chunks", "added", "updated", "removed", "unchanged"):
        table.add_row(key, str(getattr(report, key)))
    table.add_row("embedded / reused", f"{report.embedded} / {report.reused}")
    table.add_row("generation", f"{report.generation}{'' if report.published else ' (no change)'}")
    table.add_row("seconds", f"{report.seconds:.2f}")
    out.print(table)
    for change in report.changes:
        if change.status != "unchanged":
            out.print(f"  {change.status:9} {escape(change.source)} ({change.chunks} chunks)")
    kept = {k.source for k in report.kept}
    for skip in report.skipped:
        if skip.source not in kept:
            out.print(f"  [yellow]skipped[/]   {escape(skip.source)}: {escape(skip.reason)}")
    for broken in report.kept:
        out.print(
            f"  [bold red]broken[/]    {escape(broken.source)}: {escape(broken.reason)}; "
            "its published version still serves until the file is fixed or deleted"
        )
    for dup in report.duplicates:
        heading, under = escape(dup["heading"]), escape(dup["kept_under"])
        out.print(f"  duplicate '{heading}' kept once under '{under}'")


def _print_answer(answer: Answer, *, show_timing: bool = False) -> None:
    from bot.chat.console import render_answer

    out.print(render_answer(answer, show_timing=show_timing))


def _answer_json(question: str, answer: Answer) -> dict[str, object]:
    return {
        "q": question,
        "answer": answer.text,
        "abstained": answer.abstained,
        "language": answer.language,
        "citations": [
            {"source": c.source, "section": c.section, "text": c.text, "score": c.score}
            for c in answer.citations
        ],
        "latency_ms": round(answer.timing.total_ms, 2),
    }


@app.command()
def ask(
    question: Annotated[str | None, typer.Argument(help="The question to answer.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
    jsonl: Annotated[
        bool, typer.Option("--jsonl", help="Read JSON lines {q, conv} from stdin, answer each.")
    ] = False,
) -> None:
    """Answer one question (or a batch from stdin with --jsonl)."""
    if question is None and not jsonl:
        console.print("Give a question, or --jsonl to read questions from stdin.")
        raise typer.Exit(2)
    settings = load_settings()
    asyncio.run(_ask(settings, question, as_json, jsonl))


async def _ask(settings: Settings, question: str | None, as_json: bool, jsonl: bool) -> None:
    advisor = await _advisor_or_exit(settings, warm=jsonl)
    try:
        if not jsonl:
            question = clean_text(question or "")
            answer = await advisor.ask(
                Question(text=question, platform="cli", conversation_id="cli")
            )
            if as_json:
                out.print_json(json.dumps(_answer_json(question or "", answer), ensure_ascii=False))
            else:
                _print_answer(answer)
            return
        # Bytes in, each line decoded on its own: one undecodable line is one error line.
        for n, raw in enumerate(sys.stdin.buffer, start=1):
            line = raw.decode("utf-8", errors="replace")
            if not line.strip():
                continue
            item = _jsonl_item(line)
            if isinstance(item, str):
                print(json.dumps({"line": n, "error": item}), flush=True)
                continue
            text, conv = item
            try:
                answer = await advisor.ask(
                    Question(text=text, platform="cli", conversation_id=f"jsonl:{conv or n}")
                )
            except Exception:
                logger.exception("ask --jsonl: line %d failed", n)
                print(json.dumps({"line": n, "error": "answering failed; see the log"}), flush=True)
                continue
            print(json.dumps(_answer_json(text, answer), ensure_ascii=False), flush=True)
    finally:
        await advisor.close()


def _jsonl_item(line: str) -> tuple[str, str] | str:
    """A --jsonl line's question and conversation id, or why the line cannot be asked."""
    try:
        item = json.loads(line)
    except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deep
        item = None
    if not isinstance(item, dict) or not isinstance(item.get("q"), str):
        return "expected a JSON object with a 'q' field holding text"
    conv = item.get("conv")
    # A lone surrogate ("\ud800" in JSON) cannot be printed or stored: it becomes U+FFFD.
    return clean_text(item["q"]), clean_text(str(conv)) if conv else ""


async def _advisor_or_exit(settings: Settings, warm: bool = True) -> Advisor:
    from bot.advisor.advisor import build_advisor
    from bot.advisor.llm import LLMConfigError
    from bot.state import MemoryStateStore
    from core.index import EmbedderMismatch, IndexMissing, StoreRefused, StoreUnavailable

    try:
        # One-shot answers share no memory with the bots: keep them off the real store.
        advisor = await build_advisor(settings, warm=warm, state=MemoryStateStore())
    except LLMConfigError as exc:  # the provider's extra is not installed
        console.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(2) from None
    except StoreRefused as exc:  # the token or TLS settings: a configuration to fix
        console.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(2) from None
    except (IndexMissing, EmbedderMismatch, StoreUnavailable) as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(1) from None
    if not warm:
        # A one-shot answer is polite about a server that is down or an index not built yet,
        # but a server refusing our token stays refused: say which setting to fix.
        try:
            await advisor.knowledge.current()
        except StoreRefused as exc:
            await advisor.close()
            console.print(f"[red]{escape(str(exc))}[/]")
            raise typer.Exit(2) from None
        except (IndexMissing, StoreUnavailable):
            pass
    return advisor


@app.command()
def path(
    start: Annotated[str, typer.Argument(metavar="FROM", help="Role you start from (ko or en).")],
    goal: Annotated[str, typer.Argument(metavar="TO", help="Role you want to reach.")],
    png: Annotated[
        Path | None, typer.Option("--png", help="Also draw the ladder with the path to FILE.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
) -> None:
    """The career path between two roles, step by step, from the role catalogue."""
    settings = load_settings()
    code = asyncio.run(_path(settings, start, goal, png, as_json))
    if code:
        raise typer.Exit(code)


async def _path(settings: Settings, start: str, goal: str, png: Path | None, as_json: bool) -> int:
    from bot.advisor.analysis import language_of
    from bot.advisor.paths import answer_between, render_ladder

    advisor = await _advisor_or_exit(settings, warm=False)
    try:
        snap = await advisor.knowledge.current()
        answer = answer_between(snap, start, goal, language_of(f"{start} {goal}"))
        if png is not None and answer.path:
            data = await asyncio.to_thread(render_ladder, snap.roles, answer.path, answer.language)
            await asyncio.to_thread(png.write_bytes, data)
        if as_json:
            payload = _answer_json(f"{start} -> {goal}", answer) | {
                "path": answer.path,
                "png": str(png) if png is not None and answer.path else None,
            }
            out.print_json(json.dumps(payload, ensure_ascii=False))
        else:
            _print_answer(answer)
            if png is not None and answer.path:
                console.print(f"picture written to {escape(str(png))}")
        return 1 if answer.abstained else 0
    finally:
        await advisor.close()


@app.command()
def chat() -> None:
    """An interactive conversation on the console (/help, /reset, /quit)."""
    from bot.advisor.llm import LLMConfigError
    from bot.chat.console import run_console

    settings = load_settings()
    _run_bot(run_console(settings, console=out), LLMConfigError)


@app.command("eval")
def evaluate(
    file: Annotated[Path, typer.Argument(help="Question set in the JSONL eval format.")],
    min_score: Annotated[
        float, typer.Option(help="Exit non-zero when the share of hits is below this.")
    ] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Score the advisor on a question set: hits per kind, and every miss with what was missing."""
    from bot.devtools.evaluation import load_cases, run_eval

    if not file.is_file():
        console.print(f"[red]{escape(str(file))} does not exist[/]")
        raise typer.Exit(2)
    try:
        cases = load_cases(file)
    except ValueError as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(2) from None
    settings = load_settings()
    result = asyncio.run(run_eval(settings, cases))
    if as_json:
        out.print_json(json.dumps(result.model_dump(), ensure_ascii=False))
    else:
        result.print(out)
    if result.score < min_score:
        raise typer.Exit(1)


def _run_bot(job: Coroutine[Any, Any, None], setup_error: type[Exception]) -> None:
    """Run a bot (or the console) until interrupted; a setup or index problem is a message, not
    a traceback."""
    from bot.advisor.llm import LLMConfigError
    from core.index import EmbedderMismatch, IndexMissing, StoreRefused, StoreUnavailable

    try:
        asyncio.run(job)
    except (setup_error, LLMConfigError, StoreRefused) as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(2) from None
    except (IndexMissing, EmbedderMismatch, StoreUnavailable) as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        pass


@app.command()
def run() -> None:
    """The main job: the Slack and/or Discord bots when configured, else the console."""
    settings = load_settings()
    if settings.slack_configured or settings.discord_configured:
        from bot.chat.main_job import BotSetupError, run_bots

        _run_bot(run_bots(settings), BotSetupError)
    else:
        console.print(
            "No Slack or Discord tokens in the environment: starting the console advisor."
        )
        from bot.advisor.llm import LLMConfigError
        from bot.chat.console import run_console

        _run_bot(run_console(settings, console=out), LLMConfigError)


@app.command()
def slack(
    http: Annotated[
        bool, typer.Option(help="Serve HTTP (POST /slack/events) instead of Socket Mode.")
    ] = False,
    port: Annotated[int, typer.Option(help="Port for --http.")] = 3000,
    host: Annotated[str, typer.Option(help="Interface for --http.")] = "0.0.0.0",
) -> None:
    """Run the Slack bot (Socket Mode by default)."""
    from bot.chat.slack_app import SlackConfigError, run_slack

    settings = load_settings()
    _run_bot(run_slack(settings, http=http, host=host, port=port), SlackConfigError)


@app.command()
def discord() -> None:
    """Run the Discord bot."""
    from bot.chat.discord_app import DiscordSetupError, run_discord

    settings = load_settings()
    _run_bot(run_discord(settings), DiscordSetupError)


async def _with_store(settings: Settings, job: Any) -> Any:
    """Run `job(store)` on the configured state store (STATE_URL, or SQLite under DATA_DIR)."""
    from bot.state import StateUnavailable
    from bot.state.sql import SqlStateStore

    store = SqlStateStore(
        settings.state_database_url,
        breaker_s=settings.state_breaker_s,
        start_retry_s=settings.state_start_retry_s,
    )
    try:
        await store.start()
        return await job(store)
    except StateUnavailable as exc:
        console.print(f"[red]{escape(str(exc))}[/] (STATE_URL or DATA_DIR)")
        raise typer.Exit(1) from None
    finally:
        await store.close()


@app.command()
def forget(user_id: Annotated[str, typer.Argument(help="Slack or Discord user id.")]) -> None:
    """Delete everything stored about one user: conversations, votes, asked questions, limits."""
    user_id = user_id.strip()
    if not user_id:
        console.print("[red]Give the user's Slack or Discord id (e.g. U012AB3CD).[/]")
        raise typer.Exit(2)
    settings = load_settings()
    gone = asyncio.run(_with_store(settings, lambda store: store.forget_user(user_id)))
    out.print(f"Deleted {gone} stored record(s) about user {escape(user_id)}.")


@app.command()
def report(
    since: Annotated[
        str, typer.Option(help="How far back: 7d, 24h, 90m, 2w (a bare number is days).")
    ] = "7d",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """What the knowledge lacks: declined questions and down-voted answers, grouped."""
    from bot.chat.report import build_report, parse_since
    from core.embeddings import make_embeddings

    try:
        since_s = parse_since(since)
    except ValueError as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(2) from None
    settings = load_settings()
    embedder = make_embeddings(settings.embeddings)
    result = asyncio.run(
        _with_store(settings, lambda store: build_report(store, embedder, since_s))
    )
    if as_json:
        print(json.dumps(result.model_dump(), ensure_ascii=False, indent=2))
    else:
        out.print(result.render(limit=50), markup=False, highlight=False)


@app.command()
def bench(
    questions: Annotated[
        Path, typer.Option(help="Question set (JSONL eval format) to time the answers with.")
    ] = Path("eval/questions.jsonl"),
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON object.")] = False,
    quick: Annotated[
        bool,
        typer.Option(
            help="A smoke run: one repetition of each measurement, 40 Slack questions, "
            "synthetic corpora of 1,000 and 5,000 chunks."
        ),
    ] = False,
    state_url: Annotated[
        str,
        typer.Option(
            help="PostgreSQL URL the two Slack replicas share (a scratch database: the run "
            "writes made-up conversations); default: a scratch SQLite file."
        ),
    ] = "",
) -> None:
    """Measure ingest, answers, the Slack endpoint (one and two replicas), memory, and query
    cost on synthetic corpora of 10,000 and 50,000 chunks, on this machine."""
    from rich.table import Table

    from bot.devtools.bench import run_bench

    settings = load_settings(log_level="WARNING")
    if not questions.is_file():
        console.print(f"[red]{escape(str(questions))} does not exist[/]")
        raise typer.Exit(2)
    from core.index import EmbedderMismatch, IndexMissing, IndexStore, StoreUnavailable

    try:
        # Before the minutes of ingest timing: the answers need the published index.
        if IndexStore(settings).pointer() is None:
            raise IndexMissing("the knowledge base has not been built yet: run `career-bot ingest`")
        result = run_bench(settings, questions, quick=quick, state_url=state_url)
    except (IndexMissing, EmbedderMismatch, StoreUnavailable) as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(1) from None
    if not as_json:
        table = Table(title=f"Benchmark ({result['date']}, {result['machine']})")
        table.add_column("measure")
        table.add_column("value", justify="right")
        for key, value in result.items():
            if key not in {"date", "machine"}:
                table.add_row(key, str(value))
        out.print(table)
    print(json.dumps(result, ensure_ascii=False))


def main() -> None:
    """`career-bot`: a mistake in a command is one line and exit code 1, never a traceback
    (that goes to the log at DEBUG, for whoever fixes it)."""
    try:
        app()
    except Exception as exc:
        logger.debug("career-bot failed", exc_info=True)
        console.print(
            f"[red]career-bot stopped on an unexpected error ({type(exc).__name__}); "
            "LOG_LEVEL=DEBUG shows where.[/]"
        )
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
