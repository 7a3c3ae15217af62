"""`/career ask|help` and `/career-admin reingest|report` through INTERACTION_CREATE, the
callback and follow-up webhooks."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import discord
import pytest
from discord_harness import (
    MANAGER_PERMISSIONS,
    DownStore,
    FailingAdvisor,
    HangingClaims,
    ScriptedAdvisor,
    ask,
    asking,
    custom_ids,
    guild_message,
    is_followup,
    raw_mass_mention,
    settle,
    text_of,
)
from fake_discord import BOT_ID, EPHEMERAL, GUILD_ID, USER_A, USER_B, FakeDiscord, RestCall, payload

from bot.advisor.advisor import build_advisor
from bot.chat.discord_app import CareerBot
from bot.chat.discord_embeds import VOTE_DOWN_ID, VOTE_UP_ID
from bot.chat.service import build_chat_service
from bot.state import Vote
from bot.state.sql import SqlStateStore
from core.settings import Settings

ZWJ = "\u200d"
#: A server the bot was added to that is not the operator's.
OTHER_GUILD_ID = "1120345678901239999"


def slash(fake: FakeDiscord, name: str, **changes: Any) -> dict[str, Any]:
    """`/career <name>`, or `/career-admin <name>` for the admin commands."""
    if name in ("reingest", "report"):
        data = fake.interaction("interaction_career_admin_reingest", **changes)
        data["data"]["options"] = [{"type": 1, "name": name}]
        return data
    return fake.interaction(f"interaction_career_{name}", **changes)


async def interact(fake: FakeDiscord, data: dict[str, Any]) -> int:
    start = len(fake.calls)
    await fake.dispatch("INTERACTION_CREATE", data)
    return start


def is_callback(data: dict[str, Any]) -> Callable[[RestCall], bool]:
    return lambda c: c.path == f"/interactions/{data['id']}/{data['token']}/callback"


async def test_commands_are_synced_to_the_configured_guild(
    career_bot: CareerBot, fake_discord: FakeDiscord
) -> None:
    career, admin = fake_discord.commands[GUILD_ID]
    assert career["name"] == "career"
    options = {o["name"]: o for o in career["options"]}
    assert set(options) == {"ask", "help"}
    assert options["ask"]["options"][0]["name"] == "question"
    assert options["ask"]["options"][0]["required"] is True
    assert career["default_member_permissions"] is None  # everyone may ask
    assert admin["name"] == "career-admin"
    admin_options = {o["name"]: o for o in admin["options"]}
    assert set(admin_options) == {"reingest", "report"}
    assert admin_options["report"]["options"][0]["name"] == "period"
    assert admin_options["report"]["options"][0].get("required", False) is False
    assert "global" not in fake_discord.commands


async def test_the_admin_commands_are_hidden_from_members_and_offered_in_servers_only(
    career_bot: CareerBot, fake_discord: FakeDiscord
) -> None:
    """What Discord reads to hide `/career-admin` from members without Manage Server (a
    server owner can change it; the bot still checks every admin command itself)."""
    career, admin = fake_discord.commands[GUILD_ID]
    manage_server = discord.Permissions(manage_guild=True).value
    assert int(admin["default_member_permissions"]) == manage_server
    assert admin["dm_permission"] is False
    assert admin["contexts"] == [0]  # guild only
    assert career["default_member_permissions"] is None


async def test_commands_sync_globally_without_guild_ids(
    start_bot: Callable[..., Any],
    discord_settings: Callable[..., Settings],
    advisor: Any,
    fake_discord: FakeDiscord,
) -> None:
    await start_bot(discord_settings(discord_guild_ids=""), advisor)
    assert [c["name"] for c in fake_discord.commands["global"]] == ["career", "career-admin"]
    assert GUILD_ID not in fake_discord.commands


async def test_failed_sync_is_logged_and_the_bot_still_answers(
    start_bot: Callable[..., Any],
    discord_settings: Callable[..., Settings],
    advisor: Any,
    fake_discord: FakeDiscord,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_discord.fail_next(
        "PUT",
        rf"/applications/{BOT_ID}/guilds/{GUILD_ID}/commands",
        403,
        {"message": "Missing Access", "code": 50001},
    )
    await start_bot(discord_settings(), advisor)
    assert "could not sync slash commands guild" in caplog.text
    call = await ask(fake_discord, guild_message(fake_discord, "콜센터 직책 목록"))
    assert call.json["embeds"]


async def test_ask_defers_then_follows_up_with_the_answer_card(
    career_bot: CareerBot, fake_discord: FakeDiscord
) -> None:
    data = asking(fake_discord, "팀 리더는 어떤 일을 하나요?")
    start = await interact(fake_discord, data)
    defer = await fake_discord.wait_for(is_callback(data), after=start)
    followup = await fake_discord.wait_for(is_followup(data), after=start)

    assert defer.json == {"type": 5}  # deferred channel message, public "thinking…"
    assert defer.query == {"with_response": "1"}
    assert followup.query["wait"] == "1"
    assert followup.at > defer.at
    body = followup.json
    assert body["allowed_mentions"] == {"parse": []}
    [embed] = body["embeds"]
    assert "팀 리더" in embed["description"]
    assert embed["author"]["name"] == "팀 리더는 어떤 일을 하나요?"
    assert embed["fields"][0]["name"] == "출처"
    assert custom_ids(body) == [VOTE_UP_ID, VOTE_DOWN_ID]
    assert not body.get("flags")


async def test_ask_is_deferred_before_a_hanging_store_is_asked_to_claim_it(
    career_bot: CareerBot, fake_discord: FakeDiscord, advisor: Any
) -> None:
    hanging = HangingClaims(advisor.memory.store)
    real, advisor.memory.store = advisor.memory.store, hanging
    try:
        data = asking(fake_discord, "팀 리더는 어떤 일을 하나요?")
        start = await interact(fake_discord, data)
        defer = await fake_discord.wait_for(is_callback(data), after=start, within=10)
        assert defer.json == {"type": 5}  # "thinking…" shown while the store still hangs
        assert hanging.claims_done == 0
        hanging.release.set()
        followup = await fake_discord.wait_for(is_followup(data), after=start)
        assert hanging.claims_done == 1
        assert "팀 리더" in followup.json["embeds"][0]["description"]
    finally:
        hanging.release.set()
        await settle(fake_discord, career_bot)
        advisor.memory.store = real


async def test_an_ask_delivered_twice_while_the_store_is_down_is_answered_once(
    career_bot: CareerBot, fake_discord: FakeDiscord, down_state: DownStore
) -> None:
    data = asking(fake_discord, "팀 리더는 어떤 일을 하나요?")
    start = await interact(fake_discord, data)
    await fake_discord.wait_for(is_followup(data), after=start)
    await interact(fake_discord, data)  # the same interaction again (a replayed event)
    await settle(fake_discord, career_bot)

    calls = fake_discord.calls[start:]
    assert [c.json["type"] for c in calls if c.path.endswith("/callback")] == [5, 5]
    # The duplicate leaves the deferred response (the interaction's, holding the answer).
    assert [c for c in calls if c.method == "DELETE"] == []
    assert len([c for c in calls if is_followup(data)(c)]) == 1
    assert "claim" in down_state.calls


async def test_ask_acknowledged_by_another_replica_is_left_to_it(
    career_bot: CareerBot, fake_discord: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    data = asking(fake_discord, "팀 리더는 어떤 일을 하나요?")
    fake_discord.fail_next(
        "POST",
        rf"/interactions/{data['id']}/{data['token']}/callback",
        400,
        {"message": "Interaction has already been acknowledged.", "code": 40060},
    )
    start = await interact(fake_discord, data)
    await settle(fake_discord, career_bot)
    assert [c.method for c in fake_discord.calls[start:]] == ["POST"]  # the refused defer
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_ask_then_mention_share_the_conversation(
    career_bot: CareerBot, fake_discord: FakeDiscord
) -> None:
    data = asking(fake_discord, "팀 리더는 어떤 일을 하나요?")
    start = await interact(fake_discord, data)
    await fake_discord.wait_for(is_followup(data), after=start)
    call = await ask(fake_discord, guild_message(fake_discord, "그 역할에 필요한 기술은?"))
    said = text_of(call.json)
    assert "업무 및 서비스 지식" in said or "멀티태스킹" in said


async def test_help_is_ephemeral(career_bot: CareerBot, fake_discord: FakeDiscord) -> None:
    data = slash(fake_discord, "help")
    start = await interact(fake_discord, data)
    callback = await fake_discord.wait_for(is_callback(data), after=start)
    assert callback.json["type"] == 4
    message = callback.json["data"]
    assert message["flags"] == EPHEMERAL
    assert message["allowed_mentions"] == {"parse": []}
    said = text_of(message)
    assert "콜센터 경력 도우미" in said
    assert "/career-admin reingest" in said


async def test_ask_failure_is_an_ephemeral_apology_with_a_reference(
    start_bot: Callable[..., Any],
    discord_settings: Callable[..., Settings],
    advisor: Any,
    fake_discord: FakeDiscord,
) -> None:
    settings = discord_settings()
    failing = FailingAdvisor(settings, advisor.memory.store)
    await start_bot(settings, failing, chat=build_chat_service(settings, failing))
    data = asking(fake_discord, "팀 리더는 어떤 일을 하나요?")
    start = await interact(fake_discord, data)
    followup = await fake_discord.wait_for(is_followup(data), after=start)

    methods = [(c.method, c.path.rsplit("/", 1)[-1]) for c in fake_discord.calls[start:]]
    # defer, then drop the public "thinking…" message, then tell only the asker
    assert methods == [("POST", "callback"), ("DELETE", "@original"), ("POST", data["token"])]
    assert followup.json["flags"] == EPHEMERAL
    assert followup.json["content"].startswith("죄송해요, 답변을 만드는 중에 문제가 생겼어요.")
    assert "참조 번호: " in followup.json["content"]
    assert "exploded" not in followup.json["content"]
    assert fake_discord.messages[followup.response["id"]]["flags"] == EPHEMERAL


async def test_ask_is_rate_limited_ephemerally(
    start_bot: Callable[..., Any],
    discord_settings: Callable[..., Settings],
    advisor: Any,
    frozen_state: SqlStateStore,
    fake_discord: FakeDiscord,
) -> None:
    await start_bot(discord_settings(rate_limit_per_minute=1), advisor)
    first = asking(fake_discord, "콜센터 직책 목록")
    start = await interact(fake_discord, first)
    await fake_discord.wait_for(is_followup(first), after=start)
    second = asking(fake_discord, "콜센터에서 일하는 것의 장단점은?")
    start = await interact(fake_discord, second)
    notice = await fake_discord.wait_for(is_followup(second), after=start)

    methods = [(c.method, c.path.rsplit("/", 1)[-1]) for c in fake_discord.calls[start:]]
    # deferred before the limit is looked up (a store call), then only the asker is told
    assert methods == [("POST", "callback"), ("DELETE", "@original"), ("POST", second["token"])]
    assert notice.json["flags"] == EPHEMERAL
    assert notice.json["content"] == "질문이 너무 많아요. 15초 후에 다시 물어봐 주세요."


async def test_reingest_is_refused_without_manage_server(
    start_bot: Callable[..., Any],
    discord_settings: Callable[..., Settings],
    advisor: Any,
    fake_discord: FakeDiscord,
) -> None:
    scripted = ScriptedAdvisor(advisor, [{"documents": 9}])
    settings = discord_settings()
    bot = await start_bot(settings, scripted, chat=scripted.chat(settings))
    data = slash(fake_discord, "reingest")  # a plain member: no Manage Server
    start = await interact(fake_discord, data)
    callback = await fake_discord.wait_for(is_callback(data), after=start)
    assert callback.json["data"]["flags"] == EPHEMERAL
    assert "서버 관리 권한" in callback.json["data"]["content"]
    await settle(fake_discord, bot)
    assert scripted.reingests == 0
    assert len(fake_discord.calls) == start + 1


@pytest.mark.parametrize("command", ["reingest", "report"])
@pytest.mark.parametrize("admin_guilds", ["", OTHER_GUILD_ID])
async def test_manage_server_in_a_guild_not_listed_grants_nothing(
    start_bot: Callable[..., Any],
    discord_settings: Callable[..., Settings],
    advisor: Any,
    fake_discord: FakeDiscord,
    command: str,
    admin_guilds: str,
) -> None:
    """The owner of any server that added the bot has Manage Server there: unless that server
    is in DISCORD_ADMIN_GUILD_IDS they are refused, only they see it, and nothing starts."""
    scripted = ScriptedAdvisor(advisor, [{"documents": 9}])
    settings = discord_settings(discord_admin_guild_ids=admin_guilds)
    bot = await start_bot(settings, scripted, chat=scripted.chat(settings))
    data = reporting(fake_discord, "7d") if command == "report" else slash(fake_discord, command)
    data["member"]["permissions"] = MANAGER_PERMISSIONS
    start = await interact(fake_discord, data)
    callback = await fake_discord.wait_for(is_callback(data), after=start)
    assert callback.json["type"] == 4
    assert callback.json["data"]["flags"] == EPHEMERAL
    assert "DISCORD_ADMIN_GUILD_IDS" in callback.json["data"]["content"]
    await settle(fake_discord, bot)
    assert scripted.reingests == 0
    assert len(fake_discord.calls) == start + 1  # the refusal alone: no "thinking…", no report


@pytest.mark.parametrize("where", ["guild", "dm"])
async def test_reingest_by_a_listed_admin(
    start_bot: Callable[..., Any],
    discord_settings: Callable[..., Settings],
    advisor: Any,
    fake_discord: FakeDiscord,
    where: str,
) -> None:
    report = {
        "documents": 2,
        "chunks": 84,
        "added": 0,
        "updated": 1,
        "removed": 0,
        "unchanged": 1,
        "skipped": [{"source": "broken.pdf", "reason": "unsupported type"}],
        "seconds": 1.25,
    }
    scripted = ScriptedAdvisor(advisor, [report])
    settings = discord_settings(discord_admin_user_ids=USER_A)
    await start_bot(settings, scripted, chat=scripted.chat(settings))
    data = slash(fake_discord, "reingest")
    if where == "dm":
        for key in ("guild_id", "guild", "member", "guild_locale"):
            data.pop(key)
        data["user"] = payload("interaction_career_ask")["member"]["user"]
        data["channel_id"] = data["channel"]["id"] = "1250000000000000001"
        data["channel"] = {"id": "1250000000000000001", "type": 1, "flags": 0}
        data["context"] = 1
    start = await interact(fake_discord, data)
    report_call = await fake_discord.wait_for(is_followup(data), after=start)
    assert scripted.reingests == 1
    assert report_call.json["content"] == (
        "문서 재색인이 끝났어요 (1.2초). 문서 2개, 조각 84개: 추가 0, 변경 1, 삭제 0, 그대로 1.\n"
        "건너뛴 파일: broken.pdf"
    )
    assert not report_call.json.get("flags")  # the report is for the channel


async def test_reingest_failure_is_reported_with_a_reference(
    start_bot: Callable[..., Any],
    discord_settings: Callable[..., Settings],
    advisor: Any,
    fake_discord: FakeDiscord,
) -> None:
    scripted = ScriptedAdvisor(advisor, [OSError("disk full")])
    settings = discord_settings(discord_admin_guild_ids=GUILD_ID)
    await start_bot(settings, scripted, chat=scripted.chat(settings))
    data = slash(fake_discord, "reingest")
    data["member"]["permissions"] = MANAGER_PERMISSIONS
    start = await interact(fake_discord, data)
    report = await fake_discord.wait_for(is_followup(data), after=start)
    assert report.json["content"].startswith(
        "문서 재색인에 실패했어요. 기존 색인으로 계속 답해요. (참조 번호: "
    )
    assert "disk" not in report.json["content"]


@pytest.fixture
async def scratch_advisor(
    tmp_path: Path, index_dir: Path, settings_factory: Callable[..., Settings]
) -> Any:
    """A real advisor over its own copy of the index and of knowledge/, with "@everyone"
    written into one document (re-ingest must not disturb the session index)."""
    data = tmp_path / "data"
    shutil.copytree(index_dir, data)
    knowledge = tmp_path / "knowledge"
    shutil.copytree(settings_factory().knowledge_dir, knowledge)
    doc = knowledge / "call-center-highest-positions.txt"
    text = doc.read_text(encoding="utf-8")
    assert "멀티태스킹" in text
    doc.write_text(text.replace("멀티태스킹", "멀티태스킹 @everyone"), encoding="utf-8")
    # (settings_factory cannot take data_dir: make_settings gets it positionally)
    scratch = settings_factory().model_copy(update={"knowledge_dir": knowledge, "data_dir": data})
    adv = await build_advisor(scratch)
    yield adv
    await adv.close()


async def test_reingest_runs_in_the_background_and_documents_never_ping(
    start_bot: Callable[..., Any],
    discord_settings: Callable[..., Settings],
    scratch_advisor: Any,
    fake_discord: FakeDiscord,
) -> None:
    settings = discord_settings(discord_admin_guild_ids=GUILD_ID).model_copy(
        update={
            "knowledge_dir": scratch_advisor.settings.knowledge_dir,
            "data_dir": scratch_advisor.settings.data_dir,
        }
    )
    await start_bot(settings, scratch_advisor)
    question = "팀 리더에게 필요한 기술은?"

    data = slash(fake_discord, "reingest")
    data["member"]["permissions"] = MANAGER_PERMISSIONS
    start = await interact(fake_discord, data)
    started = await fake_discord.wait_for(is_callback(data), after=start)
    assert started.json["data"]["flags"] == EPHEMERAL
    assert "재색인을 시작했어요" in started.json["data"]["content"]

    # A second request while it runs is told so.
    again = slash(fake_discord, "reingest")
    again["member"]["permissions"] = MANAGER_PERMISSIONS
    again["member"]["user"]["id"] = USER_B
    at = await interact(fake_discord, again)
    busy = await fake_discord.wait_for(is_callback(again), after=at)
    assert "이미 문서 재색인이 진행 중이에요" in busy.json["data"]["content"]

    # Answers keep coming from the old index meanwhile.
    during = await ask(fake_discord, guild_message(fake_discord, question), measure=False)
    assert "멀티태스킹" in text_of(during.json)

    report = await fake_discord.wait_for(is_followup(data), after=start, within=60)
    assert report.at > during.at
    assert report.json["content"].startswith("문서 재색인이 끝났어요")
    assert "변경 1" in report.json["content"]

    after = await ask(fake_discord, guild_message(fake_discord, question, author=USER_B))
    body = after.json
    assert f"멀티태스킹 @{ZWJ}everyone" in body["embeds"][0]["description"]
    assert not raw_mass_mention(body)
    assert body["allowed_mentions"] == {"parse": []}


def reporting(fake: FakeDiscord, period: str | None = None) -> dict[str, Any]:
    data = slash(fake, "report")
    data["data"]["options"] = [{"type": 1, "name": "report"}]
    if period is not None:
        data["data"]["options"][0]["options"] = [{"type": 3, "name": "period", "value": period}]
    return data


async def test_report_is_ephemeral_for_admins_only_and_never_pings(
    start_bot: Callable[..., Any],
    discord_settings: Callable[..., Settings],
    advisor: Any,
    fake_discord: FakeDiscord,
) -> None:
    for question in ["@everyone 피자 맛집 <@&1120345678901234999>?"] * 2 + ["주식 투자 방법?"]:
        await advisor.memory.store.record_exchange(
            f"discord:{GUILD_ID}:1:9", "9", "discord", question, None, abstained=True
        )
    await start_bot(discord_settings(discord_admin_guild_ids=GUILD_ID), advisor)

    refused = reporting(fake_discord)  # a plain member
    start = await interact(fake_discord, refused)
    callback = await fake_discord.wait_for(is_callback(refused), after=start)
    assert callback.json["data"]["flags"] == EPHEMERAL
    assert "서버 관리 권한" in callback.json["data"]["content"]

    bad = reporting(fake_discord, "someday")
    bad["member"]["permissions"] = MANAGER_PERMISSIONS
    start = await interact(fake_discord, bad)
    callback = await fake_discord.wait_for(is_callback(bad), after=start)
    assert "someday" in callback.json["data"]["content"]

    data = reporting(fake_discord, "7d")
    data["member"]["permissions"] = MANAGER_PERMISSIONS
    start = await interact(fake_discord, data)
    deferred = await fake_discord.wait_for(is_callback(data), after=start)
    assert deferred.json["type"] == 5  # "thinking…", shown only to the admin
    assert deferred.json["data"]["flags"] == EPHEMERAL
    report = await fake_discord.wait_for(is_followup(data), after=start)
    assert report.json["flags"] == EPHEMERAL
    content = report.json["content"]
    assert "3 declined" in content
    assert content.index("피자 맛집") < content.index("주식 투자")
    assert not raw_mass_mention(report.json)
    assert report.json["allowed_mentions"]["parse"] == []


#: A question declined in each place the bot is used, with the conversation id it was asked
#: in (Discord's: guild, or "dm", then channel and user).
DECLINED_IN = {
    ("discord", f"discord:{GUILD_ID}:1:9"): "피자 맛집 추천해 줘?",
    ("discord", f"discord:{OTHER_GUILD_ID}:2:9"): "오늘 날씨 어때?",
    ("discord", "discord:dm:3:9"): "주식 투자 방법?",
    ("slack", "slack:T1:C1:1.0"): "비트코인 시세는?",
}
#: Voted not helpful in the other guild.
DOWN_VOTED = "연봉 협상 잘하는 법?"
#: Asked here through the bot, by a mention: the advisor declines it.
MENTIONED = "파스타 맛있게 만드는 법?"


@pytest.mark.parametrize(
    ("admin", "sees"),
    [
        ("listed", {"피자 맛집 추천해 줘?", "오늘 날씨 어때?", "주식 투자 방법?", DOWN_VOTED}),
        ("manager", {"피자 맛집 추천해 줘?"}),
    ],
)
async def test_an_admins_report_holds_only_what_that_admin_may_see(
    start_bot: Callable[..., Any],
    discord_settings: Callable[..., Settings],
    advisor: Any,
    fake_discord: FakeDiscord,
    admin: str,
    sees: set[str],
) -> None:
    """A listed admin sees all of Discord, never Slack; a manager of a guild listed in
    DISCORD_ADMIN_GUILD_IDS sees that guild's questions only."""
    store = advisor.memory.store
    for (platform, conversation), question in DECLINED_IN.items():
        await store.record_exchange(conversation, "9", platform, question, None, abstained=True)
    elsewhere = f"discord:{OTHER_GUILD_ID}:2:9"
    await store.record_vote(
        Vote("discord", "77", "9", -1, DOWN_VOTED, "답", [], time.time(), [], elsewhere)
    )
    settings = discord_settings(discord_admin_user_ids=USER_B, discord_admin_guild_ids=GUILD_ID)
    await start_bot(settings, advisor)
    await ask(fake_discord, guild_message(fake_discord, MENTIONED), measure=False)
    await advisor.memory.flush()

    data = reporting(fake_discord, "7d")
    if admin == "listed":  # a plain member of this guild, listed in DISCORD_ADMIN_USER_IDS
        data["member"]["user"]["id"] = USER_B
    else:
        data["member"]["permissions"] = MANAGER_PERMISSIONS
    start = await interact(fake_discord, data)
    report = await fake_discord.wait_for(is_followup(data), after=start)
    assert report.json["flags"] == EPHEMERAL
    content = report.json["content"]
    everything = {*DECLINED_IN.values(), DOWN_VOTED, MENTIONED}
    assert {q for q in everything if q in content} == sees | {MENTIONED}
