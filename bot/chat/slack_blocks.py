"""Slack's message format: mrkdwn escaping, question text and Block Kit within Slack's limits.

Pure functions, no I/O: the listeners (`bot.chat.slack_app`) pick the reply and
`bot.chat.slack_replies` sends it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.advisor.models import Answer
from bot.chat.outcomes import RATED_KINDS, Feedback
from bot.chat.phrases import phrase
from bot.chat.service import source_lines
from bot.chat.text import split_text, truncate

# Slack's limits (https://docs.slack.dev/reference/block-kit/blocks).
SECTION_TEXT_LIMIT = 3000
CONTEXT_TEXT_LIMIT = 2000
MAX_BLOCKS = 50
MESSAGE_TEXT_LIMIT = 4000
BUTTON_VALUE_LIMIT = 2000

ACTION_HELPFUL = "feedback_helpful"
ACTION_NOT_HELPFUL = "feedback_not_helpful"
FEEDBACK_BLOCK_ID = "feedback"


# -- text helpers ------------------------------------------------------------------------

_MASS_MENTION = re.compile(r"([@＠])(channel|here|everyone)", re.IGNORECASE)
#: mrkdwn has no escape character, so formatting characters become look-alikes that render
#: the same but cannot pair up ("9시~6시, 월~금" must not turn into strikethrough).
_LOOKALIKES = str.maketrans(
    {
        "*": "∗",  # U+2217 asterisk operator
        "_": "ˍ",  # U+02CD modifier letter low macron
        "~": "∼",  # U+223C tilde operator
        "`": "ˋ",  # U+02CB modifier letter grave accent
    }
)
_LEADING_QUOTE = re.compile(r"^(&gt;)", re.MULTILINE)
_SLACK_MARKUP = re.compile(r"<([^<>]*)>")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def escape_mrkdwn(text: str) -> str:
    """Make any text safe to show in mrkdwn: no mentions, no links, no formatting.

    `&`, `<`, `>` are escaped so `<!channel>`, `<@U..>`, `<!subteam^..>` and links cannot be
    formed; plain "@channel"/"@here"/"@everyone" get a zero-width joiner so they do not
    look like (or, with link_names, become) pings; `* _ ~ \\`` become look-alike characters
    and a quote marker at the start of a line gets a soft hyphen, so they render literally.
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MASS_MENTION.sub(lambda m: f"{m.group(1)}\u200d{m.group(2)}", text)
    text = text.translate(_LOOKALIKES)
    return _LEADING_QUOTE.sub("\u00ad\\1", text)


def plain_question(text: str, bot_user_id: str | None = None) -> str:
    """Slack message text -> the plain question: the bot's mention removed, markup unwrapped."""

    def unwrap(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            if bot_user_id and target[1:] == bot_user_id:
                return ""
            return "@" + (label or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            name = target[1:]
            if label:
                return label if label.startswith("@") or name.startswith("date") else "@" + label
            if name.startswith("subteam^"):
                return "@" + name.split("^", 1)[1]
            return "@" + name
        return label or target

    text = _SLACK_MARKUP.sub(unwrap, text or "")
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return re.sub(r"[ \t]{2,}", " ", text).strip()


# -- Block Kit ---------------------------------------------------------------------------


def _mrkdwn(text: str) -> dict[str, Any]:
    # verbatim: Slack does not auto-link names or URLs in text we did not mark up ourselves.
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def sources_block(answer: Answer) -> dict[str, Any] | None:
    """A context block listing the cited documents as "[n] title — section"."""
    if not answer.citations:
        return None
    lines = [f"*{phrase('sources', answer.language)}*"]
    for line in source_lines(answer):
        marks, _, where = line.partition(" ")
        lines.append(f"{marks} {escape_mrkdwn(where)}")
    return {"type": "context", "elements": [_mrkdwn(truncate("\n".join(lines), 2000))]}


def feedback_block(question: str, answer: Answer, asker: str = "") -> dict[str, Any]:
    value = Feedback.of(question, answer, asker).pack(BUTTON_VALUE_LIMIT)
    lang = answer.language
    return {
        "type": "actions",
        "block_id": FEEDBACK_BLOCK_ID,
        "elements": [
            {
                "type": "button",
                "action_id": ACTION_HELPFUL,
                "text": {
                    "type": "plain_text",
                    "text": f"👍 {phrase('helpful', lang)}",
                    "emoji": True,
                },
                "value": value,
            },
            {
                "type": "button",
                "action_id": ACTION_NOT_HELPFUL,
                "text": {
                    "type": "plain_text",
                    "text": f"👎 {phrase('not_helpful', lang)}",
                    "emoji": True,
                },
                "value": value,
            },
        ],
    }


@dataclass
class SlackMessage:
    """One chat.postMessage worth of reply: the notification text and the blocks."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


def render_answer(
    answer: Answer,
    *,
    question: str,
    header: list[dict[str, Any]] | None = None,
    asker: str = "",
) -> list[SlackMessage]:
    """The answer as Block Kit messages within Slack's limits.

    Section blocks hold the (escaped) answer, at most 3,000 characters each; the sources
    context block and the feedback buttons close the last message; a reply needing more than
    50 blocks continues in further messages. Each message's `text` (the notification and
    accessibility fallback) stays under 4,000 characters.
    """
    body = escape_mrkdwn(answer.text) if answer.text.strip() else "…"
    sections = [
        {"type": "section", "text": _mrkdwn(piece)}
        for piece in split_text(body, SECTION_TEXT_LIMIT)
    ]
    tail: list[dict[str, Any]] = []
    sources = sources_block(answer)
    if sources is not None:
        tail.append(sources)
    if answer.kind in RATED_KINDS:
        tail.append(feedback_block(question, answer, asker))
    messages: list[SlackMessage] = []
    pending = list(header or []) + sections
    while len(pending) + len(tail) > MAX_BLOCKS:
        size = min(MAX_BLOCKS, len(pending) - 1)  # keep a section for the closing message
        messages.append(_message(pending[:size]))
        pending = pending[size:]
    messages.append(_message(pending + tail))
    return messages


def _message(blocks: list[dict[str, Any]]) -> SlackMessage:
    text = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    return SlackMessage(text=truncate(text, MESSAGE_TEXT_LIMIT), blocks=blocks)


def plain_message(text: str) -> SlackMessage:
    """Text of ours (a notice, the help) as one escaped message within Slack's limits."""
    escaped = escape_mrkdwn(text)
    return SlackMessage(
        text=truncate(escaped, MESSAGE_TEXT_LIMIT),
        blocks=[
            {"type": "section", "text": _mrkdwn(piece)}
            for piece in split_text(escaped, SECTION_TEXT_LIMIT)
        ][:MAX_BLOCKS],
    )


def asked_line(user: str, question: str, language: str) -> dict[str, Any]:
    """The context block over a `/career` answer: who asked what."""
    who = f"<@{user}>" if _USER_ID.match(user) else escape_mrkdwn(user)
    asked = phrase("asked", language, user=who, question=truncate(escape_mrkdwn(question), 1500))
    return {"type": "context", "elements": [_mrkdwn(asked)]}


def working_message(asked: dict[str, Any], language: str) -> SlackMessage:
    """The `/career` status message, `asked_line` over "working…", until the answer."""
    working = phrase("working", language)
    return SlackMessage(
        text=truncate(f"{asked['elements'][0]['text']} — {working}", MESSAGE_TEXT_LIMIT),
        blocks=[asked, {"type": "section", "text": _mrkdwn(working)}],
    )
