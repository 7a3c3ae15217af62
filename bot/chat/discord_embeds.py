"""Discord's message format: what the bot sends, within Discord's limits, and reads back.

Pure rendering, no I/O: a chat service outcome becomes `Reply` messages (an answer an embed
card with the sources and the helpful / not helpful buttons), and an answer message read back
gives the `Feedback` a vote stores. Everything rendered pings nobody (mentions are defused, and
`NO_PINGS` goes with every send).

The feedback buttons must work after a restart, when nothing of the answer is left in memory.
The answer message itself carries what a vote needs: the question is the embed's author line,
the answer is the embed description and the cited chunk ids are listed in the footer. Reading
them back from `interaction.message` needs no storage, works on any replica and lasts exactly
as long as the message (and so its buttons) does; the state store's claim rows would not do,
as they expire after a day and hold no payload.
"""

from __future__ import annotations

import io
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import discord

from bot.advisor.messages import help_text
from bot.advisor.models import Answer
from bot.chat import outcomes
from bot.chat import service as chat_rules
from bot.chat.language import reply_language
from bot.chat.outcomes import Feedback
from bot.chat.phrases import PHRASES, describe, phrase
from bot.chat.text import split_text, truncate

#: Stable custom ids: the persistent view registered at start-up answers clicks on any answer.
VOTE_UP_ID = "career:vote:up"
VOTE_DOWN_ID = "career:vote:down"

#: Ping nobody: no @everyone/@here, roles, users, nor the author of the message replied to.
NO_PINGS = discord.AllowedMentions.none()

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
CONTENT_LIMIT = 2000
DESCRIPTION_LIMIT = 4096
FIELD_VALUE_LIMIT = 1024
FIELD_NAME_LIMIT = 256
FIELDS_PER_EMBED = 25
AUTHOR_LIMIT = 256
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000  # all embeds of one message together
EMBEDS_PER_MESSAGE = 10

COLOUR_ANSWER = discord.Colour(0x2E86DE)
COLOUR_DECLINE = discord.Colour(0x95A5A6)
COLOUR_HELP = discord.Colour(0x1ABC9C)

#: Kinds of answer that are shown as an answer card with feedback buttons.
CARD_KINDS = outcomes.RATED_KINDS

ZWJ = "\u200d"
_MASS_MENTION = re.compile(r"@(everyone|here)", re.IGNORECASE)
_MENTION_SYNTAX = re.compile(r"<@([!&]?\d+)>")
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


# -- text safety and limits ---------------------------------------------------------------------
def defuse(value: str) -> str:
    """Break @everyone/@here and <@id> mention syntax with a zero-width joiner (belt and braces:
    allowed_mentions already pings nobody)."""
    return _MENTION_SYNTAX.sub(f"<@{ZWJ}\\1>", _MASS_MENTION.sub(f"@{ZWJ}\\1", value))


def undefuse(value: str) -> str:
    """The text back from `defuse` (used when reading an answer off a message)."""
    return value.replace(f"@{ZWJ}", "@")


def escape(value: str) -> str:
    """Plain text as Discord markdown that renders literally, with mentions defused."""
    return discord.utils.escape_markdown(defuse(value), ignore_links=True)


def unescape(value: str) -> str:
    """The plain text back from `escape` (for reading an answer off a message)."""
    return undefuse(_ESCAPED.sub(r"\1", value))


def split_escaped(value: str, limit: int, *, size: int | None = None) -> list[str]:
    """`split_text` for text that is escaped afterwards: each escaped piece fits `limit`.

    `size` is how long the raw pieces are cut (`limit` at first): a piece that escaping grows
    past `limit` (markdown characters) is cut finer, its escaped parts still held to `limit`.
    """
    out: list[str] = []
    for piece in split_text(value, size or limit):
        escaped = escape(piece)
        if len(escaped) <= limit or len(piece) == 1:
            out.append(escaped)
        else:
            smaller = max(1, min(len(piece) - 1, limit * len(piece) // len(escaped)))
            out.extend(split_escaped(piece, limit, size=smaller))
    return out


# -- rendering ----------------------------------------------------------------------------------
@dataclass
class Reply:
    """One Discord message: text and/or embeds, and whether it carries the feedback buttons."""

    content: str = ""
    embeds: list[discord.Embed] = field(default_factory=list)
    votes: bool = False

    def send_args(self) -> dict[str, Any]:
        """The message as arguments of `channel.send` or `followup.send`, pinging nobody."""
        args: dict[str, Any] = {"allowed_mentions": NO_PINGS}
        if self.content:
            args["content"] = self.content
        if self.embeds:
            args["embeds"] = self.embeds
        return args


def _source_fields(answer: Answer) -> list[tuple[str, str]]:
    """The sources as embed fields of at most 1,024 characters each."""
    lines = [truncate(escape(line), FIELD_VALUE_LIMIT) for line in chat_rules.source_lines(answer)]
    values: list[str] = []
    for line in lines:
        if values and len(values[-1]) + 1 + len(line) <= FIELD_VALUE_LIMIT:
            values[-1] += "\n" + line
        else:
            values.append(line)
    name = phrase("sources", answer.language)
    more = f"{name} ({phrase('continued', answer.language)})"
    return [(name if i == 0 else more, v) for i, v in enumerate(values)]


def _evidence_footer(answer: Answer) -> str:
    ids = list(dict.fromkeys(answer.chunk_ids))
    if not ids:
        return ""
    label = phrase("evidence", answer.language)
    footer = f"{label}: "
    for chunk_id in ids:
        if len(footer) + len(chunk_id) + 1 > FOOTER_LIMIT:
            break
        footer += chunk_id + " "
    return footer.rstrip()


def render_answer(answer: Answer, question: str) -> list[Reply]:
    """The answer as Discord messages within every limit; the last one carries the buttons.

    Each message's first embed shows the question as its author line; the sources go in
    fields and the cited chunk ids in the footer of the last embed.
    """
    colour = COLOUR_DECLINE if answer.abstained else COLOUR_ANSWER
    asked = truncate(defuse(" ".join(question.split())), AUTHOR_LIMIT)
    footer = _evidence_footer(answer)
    # Room for the author line (any message's first embed) and the footer (the last embed).
    room = EMBED_TOTAL_LIMIT - len(asked) - len(footer)
    pieces = split_escaped(answer.text, DESCRIPTION_LIMIT) or ["\u200b"]
    embeds = [discord.Embed(description=piece, colour=colour) for piece in pieces]
    for name, value in _source_fields(answer):
        name = truncate(name, FIELD_NAME_LIMIT)
        tail = embeds[-1]
        if len(tail.fields) == FIELDS_PER_EMBED or len(tail) + len(name) + len(value) > room:
            tail = discord.Embed(colour=colour)
            embeds.append(tail)
        tail.add_field(name=name, value=value, inline=False)
    if footer:
        embeds[-1].set_footer(text=footer)
    messages = _pack(embeds, budget=EMBED_TOTAL_LIMIT - len(asked))
    if asked:
        for group in messages:
            group[0].set_author(name=asked)
    replies = [Reply(embeds=group) for group in messages]
    replies[-1].votes = answer.kind in CARD_KINDS
    return replies


def _pack(embeds: list[discord.Embed], budget: int) -> list[list[discord.Embed]]:
    """Group embeds into messages: at most ten and `budget` characters per message."""
    messages: list[list[discord.Embed]] = [[]]
    size = 0
    for embed in embeds:
        if messages[-1] and (len(messages[-1]) == EMBEDS_PER_MESSAGE or size + len(embed) > budget):
            messages.append([])
            size = 0
        messages[-1].append(embed)
        size += len(embed)
    return messages


def render_text(value: str, *, markdown: bool = False) -> list[Reply]:
    """Plain message content in pieces of at most 2,000 characters.

    Args:
        value: the text to send.
        markdown: True when the text is ours and may use markdown; document or user text is
            escaped so it renders literally.
    """
    if markdown:
        pieces = split_text(defuse(value), CONTENT_LIMIT)
    else:
        pieces = split_escaped(value, CONTENT_LIMIT)
    return [Reply(content=piece) for piece in pieces or ["\u200b"]]


def render_plain_answer(answer: Answer) -> list[Reply]:
    """The answer as plain content, for when Discord refuses an embed."""
    lines = chat_rules.source_lines(answer)
    sources = (
        ("\n\n" + phrase("sources", answer.language) + "\n" + "\n".join(lines)) if lines else ""
    )
    return render_text(answer.text + sources)


def render_help(language: str) -> discord.Embed:
    """The advisor's help text and the slash commands, as an embed."""
    embed = discord.Embed(description=help_text(language), colour=COLOUR_HELP)
    embed.add_field(
        name=phrase("commands", language), value=phrase("commands_list", language), inline=False
    )
    return embed


def render_report(
    outcome: outcomes.ReportReady | outcomes.ReportFailed, language: str
) -> list[Reply]:
    """The admins' report, escaped (it quotes what users asked), or our own failure notice."""
    markdown = isinstance(outcome, outcomes.ReportFailed)
    return render_text(describe(outcome, language), markdown=markdown)


def render_answered(answered: outcomes.Answered) -> list[Reply]:
    """The advisor's reply: the help for an empty question, an answer card with the buttons
    for a ratable answer, else the advisor's own message (an apology) as text."""
    answer = answered.answer
    if answer.kind == "empty":
        return [Reply(embeds=[render_help(answer.language)])]
    if answered.ratable:
        return render_answer(answer, answered.question)
    return render_text(answer.text, markdown=True)


def render_notice(outcome: outcomes.Replied) -> list[Reply]:
    """An outcome that is no answer as Discord messages: the help, or a notice."""
    assert not isinstance(outcome, outcomes.Answered)
    if isinstance(outcome, outcomes.Empty | outcomes.HelpAsked):
        return [Reply(embeds=[render_help(outcome.language)])]
    return render_text(describe(outcome, outcome.language), markdown=True)


# -- reading messages ---------------------------------------------------------------------------
def addressed_text(message: discord.Message, me: discord.ClientUser) -> str | None:
    """The question without the bot's mention, or None when the message is not for the bot.

    Addressed: any DM, a mention of the bot (or of its managed role), a reply to the bot; never
    a bot's or a webhook's message (the bot never answers itself), nor a system message.
    """
    if message.author.bot or message.webhook_id is not None:
        return None
    if message.type not in (discord.MessageType.default, discord.MessageType.reply):
        return None
    role = message.guild.self_role if message.guild is not None else None
    mentioned = me in message.mentions or (role is not None and role in message.role_mentions)
    ref = message.reference
    replied = ref.resolved if ref is not None else None
    to_me = isinstance(replied, discord.Message) and replied.author.id == me.id
    if not (message.guild is None or mentioned or to_me):
        return None
    content = re.sub(rf"<@!?{me.id}>", " ", message.content)
    if role is not None:
        content = content.replace(f"<@&{role.id}>", " ")
    return content.strip()


def read_answer_message(message: discord.Message | None, locale: object = None) -> Feedback:
    """The question, answer text and cited chunk ids an answer message shows, and who asked;
    its language is the answer's, else the user's `locale`."""
    question = ""
    answer_parts: list[str] = []
    chunk_ids: list[str] = []
    labels = tuple(f"{label}: " for label in PHRASES["evidence"].values())
    for embed in message.embeds if message is not None else []:
        if not question and embed.author and embed.author.name:
            question = undefuse(embed.author.name)
        if embed.description and embed.description != "\u200b":
            answer_parts.append(unescape(embed.description))
        footer = embed.footer.text if embed.footer else None
        if footer:
            for label in labels:
                if footer.startswith(label):
                    chunk_ids.extend(footer[len(label) :].split())
    answer = "\n".join(answer_parts)
    return Feedback(question, answer, chunk_ids, reply_language(answer, locale), _asker_of(message))


def _asker_of(message: discord.Message | None) -> str:
    """Who asked the question an answer message answers: the user of the slash command it
    responds to, or the author of the message it replies to; "" when Discord does not say."""
    if message is None:
        return ""
    if message.interaction_metadata is not None:
        return str(message.interaction_metadata.user.id)
    replied = message.reference.resolved if message.reference is not None else None
    return str(replied.author.id) if isinstance(replied, discord.Message) else ""


def with_picture(
    first: dict[str, Any] | None, picture: outcomes.Picture | None
) -> dict[str, Any] | None:
    """The first message's extra arguments, with the picture attached (a fresh discord.File
    each time: a File is consumed by sending it)."""
    if picture is None:
        return first
    return (first or {}) | {"file": discord.File(io.BytesIO(picture.data), filename=picture.name)}


# -- the feedback buttons -----------------------------------------------------------------------
VoteHandler = Callable[[discord.Interaction, int], Awaitable[None]]


class VoteButton(discord.ui.Button["VoteView"]):
    """One feedback button; a click calls the handler with +1 or -1."""

    def __init__(self, on_vote: VoteHandler, vote: int, *, label: str, emoji: str, custom_id: str):
        super().__init__(
            label=label, emoji=emoji, style=discord.ButtonStyle.secondary, custom_id=custom_id
        )
        self._on_vote = on_vote
        self._vote = vote

    async def callback(self, interaction: discord.Interaction) -> None:
        await self._on_vote(interaction, self._vote)


class VoteView(discord.ui.View):
    """Helpful / not helpful. No timeout and stable custom ids: registered once with
    `bot.add_view`, it answers clicks on every answer, also those sent before a restart."""

    def __init__(self, on_vote: VoteHandler, language: str = "ko") -> None:
        super().__init__(timeout=None)
        self.add_item(
            VoteButton(
                on_vote, +1, label=phrase("helpful", language), emoji="👍", custom_id=VOTE_UP_ID
            )
        )
        self.add_item(
            VoteButton(
                on_vote,
                -1,
                label=phrase("not_helpful", language),
                emoji="👎",
                custom_id=VOTE_DOWN_ID,
            )
        )
