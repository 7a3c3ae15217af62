"""Slack's stored payloads read into typed values: who, where, which conversation, which keys."""

from __future__ import annotations

import pytest
from slack_harness import ASKER, BOT_USER, CHANNEL, DM, MENTION_TS, command, event, load

from bot.chat.outcomes import Feedback
from bot.chat.slack_payloads import Target, read_click, read_command, read_message

TEAM = "T0TEAM01"


def test_a_mention_starts_a_thread_of_its_own() -> None:
    message = read_message(event("app_mention"), BOT_USER)
    assert message is not None
    conversation = f"slack:{TEAM}:{CHANNEL}:{MENTION_TS}"
    assert message.target == Target(TEAM, CHANNEL, ASKER, conversation, MENTION_TS, MENTION_TS)
    assert message.question == "팀 리더는 어떤 일을 하나요?"
    assert message.claims == ("slack:event:Ev0MENTION01", f"slack:msg:{CHANNEL}:{MENTION_TS}")
    assert message.addressed
    assert message.thread_key is None


def test_a_thread_reply_belongs_to_the_thread_and_is_known_by_its_first_message() -> None:
    message = read_message(event("message_thread_reply"), BOT_USER)
    assert message is not None
    assert not message.addressed  # no mention: a follow-up only if the bot answered there
    assert message.thread_key == f"slack:msg:{CHANNEL}:{MENTION_TS}"
    assert message.target.thread_ts == MENTION_TS
    assert message.target.source_ts == "1718000060.000200"
    assert message.target.conversation_id == f"slack:{TEAM}:{CHANNEL}:{MENTION_TS}"
    mentioned = event("message_thread_reply", text=f"<@{BOT_USER}> 그리고요?")
    assert read_message(mentioned, BOT_USER).addressed  # type: ignore[union-attr]


def test_a_dm_is_always_for_the_bot_and_answered_at_top_level() -> None:
    message = read_message(event("message_im"), BOT_USER)
    assert message is not None
    assert message.addressed
    assert message.target.is_dm
    assert message.target.thread_ts is None
    assert message.target.conversation_id == f"slack:{TEAM}:{DM}"
    in_thread = read_message(event("message_im", thread_ts="1.5"), BOT_USER)
    assert in_thread is not None
    assert in_thread.target.conversation_id == f"slack:{TEAM}:{DM}:1.5"
    assert in_thread.thread_key is None


def test_a_channel_message_without_a_mention_is_read_but_not_addressed() -> None:
    message = read_message(event("message_channel"), BOT_USER)
    assert message is not None
    assert not message.addressed
    assert message.thread_key is None  # top level: never a follow-up


@pytest.mark.parametrize("name", ["message_bot", "message_self", "message_changed"])
def test_no_person_wrote_it_so_there_is_nothing_to_read(name: str) -> None:
    assert read_message(event(name), BOT_USER) is None


def test_an_event_missing_its_user_channel_or_ts_is_nothing() -> None:
    for field in ("user", "channel", "ts"):
        assert read_message(event("message_im", **{field: None}), BOT_USER) is None
    assert read_message({}, BOT_USER) is None
    assert read_message(event("message_channel", user=BOT_USER), BOT_USER) is None  # its own
    no_id = event("message_im")
    del no_id["event_id"]
    assert read_message(no_id, BOT_USER).claims == (f"slack:msg:{DM}:1718000100.000300",)  # type: ignore[union-attr]


def test_a_command_names_its_sender_place_and_key() -> None:
    origin = read_command(command("팀 리더는?"))
    assert (origin.team, origin.channel, origin.user) == (TEAM, CHANNEL, ASKER)
    assert origin.claims == ("slack:cmd:7181000000.7181000001.0123456789abcdef0123456789abcdef",)
    bare = read_command({})
    assert (bare.team, bare.channel, bare.user, bare.claims) == ("T", "", "", ())


def test_a_click_carries_its_vote_and_the_answer_it_rates() -> None:
    body = load("block_actions")
    rated = Feedback("질문", "답", ["c1"], "en")
    body["actions"][0]["value"] = rated.pack(2000)
    click = read_click(body)
    assert click.rated == rated
    assert click.vote == 1
    assert (click.user, click.channel) == (ASKER, CHANNEL)
    assert click.message_ref == f"{CHANNEL}:1718000001.000001"
    assert click.thread_ts == MENTION_TS
    assert click.respondable
    body["actions"][0]["action_id"] = "feedback_not_helpful"
    assert read_click(body).vote == -1
    bare = read_click({})
    assert (bare.vote, bare.message_ref, bare.respondable) == (-1, ":", False)
    assert bare.rated == Feedback("", "", [], "ko")
