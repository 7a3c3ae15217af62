"""Career-path answers on Discord: the answer card with the ladder picture attached to the
same reply (multipart upload), for mentions and for /career ask."""

from __future__ import annotations

from discord_harness import ask, guild_message, text_of
from fake_discord import BOT_ID, FakeDiscord

from bot.chat.discord_app import CareerBot

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def test_path_mention_reply_carries_the_picture(
    career_bot: CareerBot, fake_discord: FakeDiscord
) -> None:
    message = guild_message(fake_discord, "상담원에서 고객 서비스 디렉터가 되려면?")
    call = await ask(fake_discord, message)

    assert call.headers["Content-Type"].startswith("multipart/form-data")
    body = call.json  # payload_json
    assert body["message_reference"]["message_id"] == int(message["id"])
    assert body["allowed_mentions"] == {"parse": []}
    [embed] = body["embeds"]
    assert "팀 리더" in embed["description"]
    assert "키울 기술" in embed["description"]
    assert "[1]" in embed["description"]
    assert "팀 리더/매니저/감독" in embed["fields"][0]["value"]
    [picture] = call.files
    assert picture["filename"] == "path-agent-to-customer-service-director.png"
    assert picture["data"].startswith(PNG_MAGIC)
    assert len(picture["data"]) > 10_000
    # the message Discord returns shows it as an attachment of the reply itself
    [attachment] = call.response["attachments"]
    assert attachment["filename"] == picture["filename"]
    assert attachment["size"] == len(picture["data"])


async def test_english_path_question_attaches_too(
    career_bot: CareerBot, fake_discord: FakeDiscord
) -> None:
    call = await ask(fake_discord, guild_message(fake_discord, "What comes after team leader?"))
    assert "Call center manager" in text_of(call.json)
    [picture] = call.files
    assert picture["filename"] == "path-team-leader-to-call-center-manager.png"


async def test_other_answers_attach_nothing(
    career_bot: CareerBot, fake_discord: FakeDiscord
) -> None:
    call = await ask(fake_discord, guild_message(fake_discord, "팀 리더는 어떤 일을 하나요?"))
    assert not call.files
    assert not call.response["attachments"]


async def test_slash_ask_follow_up_carries_the_picture(
    career_bot: CareerBot, fake_discord: FakeDiscord
) -> None:
    data = fake_discord.interaction("interaction_career_ask")
    data["data"]["options"][0]["options"][0]["value"] = "How do I get from agent to team leader?"
    start = len(fake_discord.calls)
    await fake_discord.dispatch("INTERACTION_CREATE", data)
    followup = await fake_discord.wait_for(
        lambda c: c.method == "POST" and c.path == f"/webhooks/{BOT_ID}/{data['token']}",
        after=start,
    )
    assert "Team leader" in text_of(followup.json)
    [picture] = followup.files
    assert picture["filename"] == "path-agent-to-team-leader.png"
    assert picture["data"].startswith(PNG_MAGIC)
