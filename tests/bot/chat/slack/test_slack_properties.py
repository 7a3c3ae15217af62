"""Property-based tests of the Slack adapter's text handling, and hostile text end to end.

Whatever the text (any Unicode, huge, Slack markup and mentions), the adapter never raises,
never lets a mention, link or formatting from the text come alive, and every message it
builds stays within Slack's limits.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from slack_harness import BOT_USER, CHANNEL, Harness, command, event, slack_harness

from bot.advisor.models import Answer, Citation
from bot.chat.outcomes import RATED_KINDS, Feedback
from bot.chat.slack_blocks import (
    BUTTON_VALUE_LIMIT,
    CONTEXT_TEXT_LIMIT,
    MAX_BLOCKS,
    MESSAGE_TEXT_LIMIT,
    SECTION_TEXT_LIMIT,
    escape_mrkdwn,
    plain_question,
    render_answer,
)
from bot.chat.text import split_text, truncate
from core.settings import Settings
from tests.bot.test_properties import answers, any_text, errors, huge, sendable_text

#: A live mention, broadcast or link: `<!...>`, `<@...>`, `<#...>`, `<http...>`, or a plain
#: @channel/@here/@everyone (with link_names Slack would turn it into a ping).
LIVE = re.compile(r"<[!@#a-z]|[@＠](channel|here|everyone)\b", re.IGNORECASE)
FORMATTING = re.compile(r"[*_~`]")
ENTITY = re.compile(r"&(amp|lt|gt);")
#: Escaping turns formatting characters into these look-alikes (see bot/chat/slack_blocks.py).
LOOKALIKES = {"∗": "*", "ˍ": "_", "∼": "~", "ˋ": "`"}
BUTTON_TEXT_LIMIT = 75

PURE = settings(max_examples=100, deadline=None)


def unescape(shown: str) -> str:
    """What a reader sees, mapped back to the characters the text had."""
    shown = re.sub("[@＠]\u200d", lambda m: m.group(0)[0], shown).replace("\u00ad&gt;", "&gt;")
    for lookalike, original in LOOKALIKES.items():
        shown = shown.replace(lookalike, original)
    return shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def slack_encoded(text: str) -> str:
    """Text as Slack delivers what a person typed: &, < and > as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn_texts(blocks: list[dict[str, Any]]) -> list[str]:
    """Every mrkdwn text object of the blocks (sections and context elements)."""
    texts: list[str] = []
    for block in blocks:
        objects = [block["text"]] if "text" in block else []
        objects += [e for e in block.get("elements", []) if e.get("type") == "mrkdwn"]
        for obj in objects:
            assert obj["type"] == "mrkdwn"
            assert obj.get("verbatim") is True  # no auto-linking of names or URLs
            texts.append(obj["text"])
    return texts


def check_message(text: str, blocks: list[dict[str, Any]]) -> None:
    """One chat.postMessage / chat.update within Slack's limits."""
    assert text.strip()
    assert len(text) <= MESSAGE_TEXT_LIMIT
    assert 1 <= len(blocks) <= MAX_BLOCKS
    for block in blocks:
        if block["type"] == "section":
            assert 0 < len(block["text"]["text"]) <= SECTION_TEXT_LIMIT
        elif block["type"] == "context":
            assert all(len(e["text"]) <= CONTEXT_TEXT_LIMIT for e in block["elements"])
        else:
            assert block["type"] == "actions"
            for button in block["elements"]:
                assert len(button["value"]) <= BUTTON_VALUE_LIMIT
                assert len(button["text"]["text"]) <= BUTTON_TEXT_LIMIT
    json.dumps(blocks).encode()  # serialisable as the Web API sends it


# -- pure functions -----------------------------------------------------------------------


@PURE
@given(text=any_text)
@example(text="<!channel> @here ＠everyone *굵게* _기울임_ ~취소~ `코드`\n> 인용\n&gt; 인용")
def test_escaped_text_has_no_live_mention_link_or_formatting(text: str) -> None:
    escaped = escape_mrkdwn(text)
    assert "<" not in escaped
    assert ">" not in escaped
    assert not LIVE.search(escaped)
    assert not FORMATTING.search(escaped)
    assert "&" not in ENTITY.sub("", escaped)  # every & starts an entity
    assert not re.search(r"^&gt;", escaped, re.MULTILINE)  # no quote block


@PURE
@given(text=any_text)
def test_escaping_loses_nothing_a_reader_should_see(text: str) -> None:
    assume(not any(ch in text for ch in (*LOOKALIKES, "\u200d", "\u00ad")))
    assert unescape(escape_mrkdwn(text)) == text


@PURE
@given(text=any_text)
@example(text="What does a <b>team leader</b> do & earn?")
@example(text=f"<@{BOT_USER}> twice")
def test_what_a_person_typed_comes_back_from_a_mention_as_plain_text(text: str) -> None:
    raw = f"<@{BOT_USER}> {slack_encoded(text)}"
    assert plain_question(raw, BOT_USER) == re.sub(r"[ \t]{2,}", " ", f" {text}").strip()


@PURE
@given(raw=any_text, bot=st.one_of(st.none(), st.just(BOT_USER), st.text(max_size=12)))
@example(raw="<@U0BOT001|bot> <!subteam^S1|@team> <!date^1^{date}|x> <|> <> <@> <!>", bot=None)
def test_any_slack_text_reads_as_a_trimmed_question_with_single_spaces(
    raw: str, bot: str | None
) -> None:
    question = plain_question(raw, bot)
    assert question == question.strip()
    assert not re.search(r"[ \t]{2,}", question)


@PURE
@given(text=any_text, limit=st.integers(min_value=8, max_value=SECTION_TEXT_LIMIT))
@example(text="&amp;" * 2000, limit=8)
@example(text="가" * 10_000, limit=SECTION_TEXT_LIMIT)
def test_split_pieces_fit_keep_every_character_and_never_cut_an_entity(
    text: str, limit: int
) -> None:
    escaped = escape_mrkdwn(text)
    pieces = split_text(escaped, limit)
    assert pieces or not escaped.strip()
    assert all(len(piece) <= limit for piece in pieces)
    assert all(piece.strip() for piece in pieces)
    assert re.sub(r"\s", "", "".join(pieces)) == re.sub(r"\s", "", escaped)
    for piece in pieces:
        assert "&" not in ENTITY.sub("", piece)


@PURE
@given(text=any_text, limit=st.integers(min_value=8, max_value=MESSAGE_TEXT_LIMIT))
@example(text="&lt;" * 1000, limit=10)
def test_truncated_text_fits_and_never_cuts_an_entity(text: str, limit: int) -> None:
    escaped = escape_mrkdwn(text)
    short = truncate(escaped, limit)
    assert len(short) <= limit
    assert "&" not in ENTITY.sub("", short)
    if len(escaped) <= limit:
        assert short == escaped
    else:
        assert short.endswith("…")
        assert escaped.startswith(short[:-1])


def _ids_citations(count: int, length: int) -> list[Citation]:
    return [
        Citation(
            marker=n + 1, source="s", title="t", section="", text="", score=0, chunk_id="c" * length
        )
        for n in range(count)
    ]


@settings(max_examples=50, deadline=None)
@given(answer=answers(st.one_of(any_text, huge(100_000, 200_000))), question=any_text)
@example(answer=Answer(text="가나다 " * 40_000, kind="answer"), question="?")
@example(answer=Answer(text="x", citations=_ids_citations(20, 120)), question="q")
def test_a_rendered_answer_fits_slack_and_shows_nothing_live(answer: Answer, question: str) -> None:
    messages = render_answer(answer, question=question)
    assert messages
    for message in messages:
        check_message(message.text, message.blocks)
        assert not LIVE.search(message.text)
        for text in mrkdwn_texts(message.blocks):
            assert not LIVE.search(text), text
            assert "&" not in ENTITY.sub("", text)
    sections = [b for m in messages for b in m.blocks if b["type"] == "section"]
    assert not any(FORMATTING.search(b["text"]["text"]) for b in sections)
    if answer.text.strip():  # all of the answer is shown, in order, across the messages
        shown = "".join(b["text"]["text"] for b in sections)
        assert re.sub(r"\s", "", shown) == re.sub(r"\s", "", escape_mrkdwn(answer.text))
    last = messages[-1].blocks
    contexts = [b for m in messages for b in m.blocks if b["type"] == "context"]
    assert len(contexts) == (1 if answer.citations else 0)
    if contexts:
        assert contexts[0] in last
        [source_text] = mrkdwn_texts([contexts[0]])
        title, _, listing = source_text.partition("\n")
        assert FORMATTING.sub("", title) == title.strip("*")  # only our own bold title
        assert not FORMATTING.search(listing)
    actions = [b for m in messages for b in m.blocks if b["type"] == "actions"]
    if answer.kind in RATED_KINDS:
        [buttons] = actions
        assert buttons is last[-1]
        values = {button["value"] for button in buttons["elements"]}
        assert values == {Feedback.of(question, answer).pack(BUTTON_VALUE_LIMIT)}
    else:
        assert not actions


@settings(max_examples=60, deadline=None)
@given(question=any_text, answer=answers())
@example(question="q", answer=Answer(text="a", citations=_ids_citations(20, 120)))
@example(question="\x00" * 500, answer=Answer(text="\x01" * 5000))
def test_a_feedback_value_fits_its_button_and_reads_back(question: str, answer: Answer) -> None:
    value = Feedback.of(question, answer, "U0ASKER12").pack(BUTTON_VALUE_LIMIT)
    assert len(value) <= BUTTON_VALUE_LIMIT
    data = Feedback.unpack(value)
    assert data.language == answer.language
    assert data.asker == "U0ASKER12"
    ids = answer.chunk_ids[:20]
    assert data.chunk_ids == ids[: len(data.chunk_ids)]
    assert question[:500].startswith(data.question)
    assert answer.text.startswith(data.answer)
    if len(json.dumps(question[:500])) + len(json.dumps(ids)) <= 700:
        assert data.chunk_ids == ids
        assert data.question == question[:500]  # the answer is shortened first


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.sampled_from(["l", "c", "q", "a"]) | st.text(max_size=3), inner)
    ),
    max_leaves=12,
)


@PURE
@given(value=st.one_of(any_text, json_values.map(json.dumps), st.integers(1, 1000)))
@example(value="[" * 1000)
@example(value='{"c": ' + "[" * 1500 + "]" * 1500 + "}")
def test_any_button_value_reads_as_a_well_formed_vote(value: str | int) -> None:
    if isinstance(value, int):  # a forged value nested that deep (Slack allows 2,000 chars)
        value = "[" * value + "]" * value
    data = Feedback.unpack(value)
    assert data.language in ("ko", "en")
    assert all(isinstance(c, str) for c in data.chunk_ids)
    assert isinstance(data.question, str)
    assert isinstance(data.answer, str)


# -- end to end ---------------------------------------------------------------------------

E2E = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_serial = itertools.count(1)


def live_but_the_asker(user: str) -> re.Pattern[str]:
    """A live mention, broadcast or link other than `<@user>`: the one mention a /career
    reply may carry is its asker's, in its own header."""
    return re.compile(rf"<(?!@{re.escape(user)}>)[!@#a-z]|[@＠](channel|here|everyone)\b", re.I)


@pytest.fixture
async def slack(settings_factory: Callable[..., Settings], advisor: Any) -> AsyncIterator[Harness]:
    """The real bot over HTTP against the fake Slack, shared by a test's examples."""
    async with slack_harness(settings_factory, advisor=advisor) as h:
        yield h


@E2E
@given(text=any_text)
@example(text="<!channel> <@U0123ABCD> 팀 리더 <http://x|click> @here ＠everyone *급여* ```x```")
async def test_a_hostile_mention_gets_exactly_one_reply_that_pings_nobody(
    slack: Harness, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    n = next(_serial)
    ts, user, seen = f"{1718100000 + n}.000100", f"U0PROP{n:04d}", len(caplog.records)
    mention = event(
        "app_mention", event_id=f"EvPROP{n:06d}", ts=ts, user=user, text=f"<@{BOT_USER}> {text}"
    )
    assert await slack.send_event(mention) == 200
    await slack.answer_to(ts)
    await slack.settle()

    replies = [c for c in slack.fake.calls if c.method == "chat.postMessage"]
    [reply] = [c for c in replies if c.args.get("thread_ts") == ts]
    assert reply.args["channel"] == CHANNEL
    check_message(reply.args["text"], reply.args["blocks"])
    assert not LIVE.search(reply.args["text"])
    assert not any(LIVE.search(t) for t in mrkdwn_texts(reply.args["blocks"]))
    assert not errors(caplog, seen)


@E2E
@given(text=sendable_text)
@example(text="<!here> 상담원 @channel <#C0123ABCD|general> *굵게* ~취소~")
async def test_a_hostile_career_command_is_answered_once_in_place_pinging_nobody(
    slack: Harness, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    n = next(_serial)
    user, seen, start = f"U0PROP{n:04d}", len(caplog.records), len(slack.fake.calls)
    body = command(f"Q {text}", user_id=user, trigger_id=f"7181.{n}.prop")
    status, _ = await slack.send_command(body)
    assert status == 200
    await slack.settle()

    calls = slack.fake.calls[start:]
    live = live_but_the_asker(user)
    [status_message] = [c for c in calls if c.method == "chat.postMessage"]
    [answer] = [c for c in calls if c.method == "chat.update"]
    assert answer.args["ts"] == status_message.result["ts"]
    for call in (status_message, answer):
        check_message(call.args["text"], call.args["blocks"])
        shown = [call.args["text"], *mrkdwn_texts(call.args["blocks"])]
        assert not any(live.search(t) for t in shown), shown
        assert f"<@{user}>" in shown[1]  # the header names the asker, and only the asker
    assert not [c for c in calls if c.method == "response_url"]
    assert not errors(caplog, seen)
