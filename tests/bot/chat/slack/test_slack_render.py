"""Pure helpers of the Slack adapter: escaping, question text, Block Kit and its limits."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path

import pytest
import yaml

from bot.advisor.models import Answer, Citation
from bot.chat.outcomes import Feedback
from bot.chat.slack_app import SlackConfigError, check_settings
from bot.chat.slack_blocks import (
    ACTION_HELPFUL,
    ACTION_NOT_HELPFUL,
    BUTTON_VALUE_LIMIT,
    MAX_BLOCKS,
    MESSAGE_TEXT_LIMIT,
    SECTION_TEXT_LIMIT,
    escape_mrkdwn,
    plain_question,
    render_answer,
)
from bot.chat.text import split_text
from core.settings import Settings

PING = re.compile(r"<[!@#]|@(channel|here|everyone)\b", re.IGNORECASE)


def citation(marker: int, title: str = "문서", section: str = "섹션") -> Citation:
    return Citation(
        marker=marker,
        source="doc.txt",
        title=title,
        section=section,
        text="...",
        score=1.0,
        chunk_id=f"chunk{marker:04d}",
    )


@pytest.mark.parametrize(
    "dangerous",
    [
        "<!channel> 모두 보세요",
        "<!here|here>",
        "<!everyone>",
        "<@U12345678> 님께",
        "<!subteam^S0123ABC|@support>",
        "<https://evil.example|click me>",
        "@channel 점심",
        "@Here 회의",
        "＠everyone",
    ],
)
def test_escaping_never_produces_a_ping_or_link(dangerous: str) -> None:
    escaped = escape_mrkdwn(dangerous)
    assert not PING.search(escaped), escaped
    assert "<" not in escaped
    assert ">" not in escaped


def test_escaping_renders_mrkdwn_characters_literally() -> None:
    text = "근무: 9시~6시, 월~금 *필수* _선택_ `코드` A&B\n> 인용 아님"
    escaped = escape_mrkdwn(text)
    assert not any(c in escaped for c in "*_~`")  # nothing left that could pair up
    assert "A&amp;B" in escaped
    assert escaped.splitlines()[1].startswith("\u00ad&gt;")  # not a block quote
    assert "9시∼6시" in escaped  # still reads the same


def test_plain_question_strips_the_bot_mention_and_unwraps_markup() -> None:
    text = "<@U0BOT001>   팀 리더는 <@U0OTHER9|minji> 처럼 &lt;일&gt; &amp; <#C123|general> <https://x.test|링크>"
    assert plain_question(text, "U0BOT001") == "팀 리더는 @minji 처럼 <일> & #general 링크"
    assert plain_question("<@U0BOT001>", "U0BOT001") == ""
    assert plain_question("<!channel> hi <!subteam^S1|@ops>", None) == "@channel hi @ops"


def test_split_text_respects_the_limit_and_keeps_lines() -> None:
    lines = [f"{i:03d} " + "가" * 95 for i in range(100)]  # 100 lines of 99 characters
    pieces = split_text("\n".join(lines), 1000)
    assert all(len(p) <= 1000 for p in pieces)
    assert "\n".join(pieces).split("\n") == lines
    long_line = "&amp;" * 900  # one line longer than a piece, full of entities
    parts = split_text(long_line, 1000)
    assert all(len(p) <= 1000 and p.endswith(";") for p in parts)
    assert "".join(parts) == long_line


def test_answer_blocks_have_sources_and_feedback() -> None:
    answer = Answer(
        text="팀 리더는 팀을 이끕니다. [1]\n• 업무 및 서비스 지식 [2]",
        citations=[citation(1, section="팀 리더"), citation(2, section="팀 리더"), citation(3)],
        language="ko",
    )
    [message] = render_answer(answer, question="팀 리더는?")
    kinds = [b["type"] for b in message.blocks]
    assert kinds == ["section", "context", "actions"]
    sources = message.blocks[1]["elements"][0]["text"]
    assert sources.splitlines() == ["*출처*", "[1][2] 문서 — 팀 리더", "[3] 문서 — 섹션"]
    buttons = message.blocks[2]["elements"]
    assert [b["action_id"] for b in buttons] == [ACTION_HELPFUL, ACTION_NOT_HELPFUL]
    data = Feedback.unpack(buttons[0]["value"])
    assert asdict(data) == {
        "language": "ko",
        "chunk_ids": ["chunk0001", "chunk0002", "chunk0003"],
        "question": "팀 리더는?",
        "answer": answer.text,
        "asker": "",
    }


def test_english_answers_get_english_framing_and_errors_get_no_buttons() -> None:
    answer = Answer(text="Team leaders lead. [1]", citations=[citation(1)], language="en")
    blocks = render_answer(answer, question="q")[0].blocks
    assert blocks[1]["elements"][0]["text"].startswith("*Sources*")
    assert "Helpful" in json.dumps(blocks)
    error = Answer(text="Sorry (reference: ab12cd34)", language="en", kind="error", abstained=True)
    assert [b["type"] for b in render_answer(error, question="q")[0].blocks] == ["section"]


def test_long_answers_are_split_within_slack_limits() -> None:
    paragraph = "콜센터 " * 875  # 3,500 characters on one line
    answer = Answer(
        text="\n".join([paragraph] * 120), citations=[citation(1)], language="ko"
    )  # 420,000 characters, 140 sections or more: more than two messages may hold
    messages = render_answer(answer, question="q")
    assert len(messages) >= 3
    for message in messages:
        assert len(message.blocks) <= MAX_BLOCKS
        assert len(message.text) <= MESSAGE_TEXT_LIMIT
        for block in message.blocks:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= SECTION_TEXT_LIMIT
    # sources and buttons close the last message only
    assert [b["type"] for b in messages[-1].blocks][-2:] == ["context", "actions"]
    assert all(b["type"] == "section" for m in messages[:-1] for b in m.blocks)
    shown = "".join(b["text"]["text"] for m in messages for b in m.blocks if b["type"] == "section")
    assert shown.replace(" ", "").replace("\n", "") == answer.text.replace(" ", "").replace(
        "\n", ""
    )


def test_button_value_stays_under_two_thousand_characters() -> None:
    answer = Answer(
        text="가나다 " * 2000,
        citations=[citation(i) for i in range(1, 16)],
        language="ko",
    )
    value = Feedback.of("질문 " * 400, answer).pack(BUTTON_VALUE_LIMIT)
    assert len(value) <= BUTTON_VALUE_LIMIT
    data = Feedback.unpack(value)
    assert len(data.chunk_ids) == 15
    assert data.question.startswith("질문")
    assert data.answer.startswith("가나다")
    assert Feedback.unpack("not json").chunk_ids == []


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def test_a_settings_check_fails_as_the_error_the_entry_points_catch() -> None:
    """Settings.check_slack words the failure (tests/core/test_settings.py); the adapter
    raises it as SlackConfigError, still naming the setting and never showing its value."""
    with pytest.raises(SlackConfigError, match="SLACK_BOT_TOKEN"):
        check_settings(settings(), http=False)
    bot_only = settings(slack_bot_token="xoxb-1-2-secretvalue")
    with pytest.raises(SlackConfigError, match="SLACK_SIGNING_SECRET") as missing:
        check_settings(bot_only, http=True)
    swapped = settings(slack_bot_token="xapp-1-secretvalue", slack_app_token="xoxb-1-secretvalue")
    with pytest.raises(SlackConfigError, match="SLACK_BOT_TOKEN should start") as info:
        check_settings(swapped, http=False)
    assert "secretvalue" not in str(info.value) + str(missing.value)


def test_manifest_grants_what_the_bot_uses() -> None:
    manifest = yaml.safe_load(
        (Path(__file__).resolve().parents[4] / "bot" / "chat" / "slack_manifest.yaml").read_text(
            "utf-8"
        )
    )
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {
        "app_mentions:read",
        "chat:write",
        "im:history",
        "reactions:write",
        "commands",
    } <= scopes
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert events == {"app_mention", "message.im", "message.channels", "message.groups"}
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/career"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True
