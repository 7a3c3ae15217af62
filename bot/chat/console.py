"""The local console: the advisor with no Slack or Discord account, through the chat service
like the other surfaces."""

from __future__ import annotations

import asyncio
import secrets

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text

from bot.advisor.messages import say
from bot.advisor.models import Answer, Question
from bot.chat.service import ChatService, build_chat_service, source_lines
from core.settings import Settings


def render_answer(answer: Answer, *, show_timing: bool = False) -> Group:
    """The answer as the console shows it: the reply, then its numbered sources."""
    parts: list[Text | Panel] = [Text(answer.text)]
    if answer.citations:
        lines = [Text(say("sources", answer.language), style="bold")]
        lines += [Text(line, style="dim") for line in source_lines(answer)]
        parts.append(Text("\n").join(lines))
    if show_timing:
        t = answer.timing
        parts.append(
            Text(
                f"{t.total_ms:.0f} ms (embed {t.embed_ms:.0f}, dense {t.dense_ms:.0f}, "
                f"lexical {t.lexical_ms:.0f}, compose {t.compose_ms:.0f})",
                style="dim",
            )
        )
    return Group(*parts)


async def run_console(
    settings: Settings, *, console: Console | None = None, chat: ChatService | None = None
) -> None:
    """Read questions from the terminal until /quit or end of input; without `chat`, around
    an advisor of its own, closed afterwards."""
    from bot.advisor.advisor import Advisor, build_advisor

    console = console or Console()
    advisor: Advisor | None = None
    if chat is None:
        with console.status("Loading the knowledge base…"):
            advisor = await build_advisor(settings)
        chat = build_chat_service(settings, advisor)
        # What it remembers expires as a bot's does, also when no bot runs.
        await chat.purge_expired()
        chat.start_housekeeping(purged=True)
    conversation = f"console:{secrets.token_hex(4)}"
    console.print(
        Panel(escape(chat.help("ko")) + "\n\n" + escape(chat.help("en")), title="Career Advisor")
    )
    console.print("[dim]/help, /reset, /quit[/]")
    try:
        while True:
            try:
                line = await asyncio.to_thread(console.input, "[bold cyan]? [/]")
            except (EOFError, KeyboardInterrupt):
                break
            command = line.strip().lower()
            if command in {"/quit", "/exit", "/q"}:
                break
            if command == "/help":
                console.print(chat.help("ko") + "\n\n" + chat.help("en"))
                continue
            if command == "/reset":
                await chat.reset(conversation)
                conversation = f"console:{secrets.token_hex(4)}"
                console.print(say("reset", "ko") + " / " + say("reset", "en"))
                continue
            if command.startswith("/"):
                console.print(f"Unknown command {escape(command)!s}. Try /help, /reset or /quit.")
                continue
            answer = await chat.answer(
                Question(text=line, conversation_id=conversation, platform="console")
            )
            console.print(render_answer(answer, show_timing=True))
            console.print()
    finally:
        if advisor is not None:
            await chat.close()
            await advisor.close()
