"""`run_slack` itself: Socket Mode over the fake's websocket, and the HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from slack_harness import (
    APP_TOKEN,
    ASKER,
    BOT_TOKEN,
    CHANNEL,
    MENTION_TS,
    SIGNING_SECRET,
    block_texts,
    command,
    event,
    load,
)

from bot.chat.service import build_chat_service
from bot.chat.slack_app import run_slack
from bot.devtools.loopback.processes import free_port
from bot.devtools.loopback.slack import FakeSlack, sign
from core.settings import Settings


@contextlib.asynccontextmanager
async def running(coro: Any) -> AsyncIterator[asyncio.Task[None]]:
    """Run `run_slack(...)` in the background; cancel it (a clean shutdown) afterwards."""
    task = asyncio.create_task(coro)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = await FakeSlack(bot_token=BOT_TOKEN, app_token=APP_TOKEN).start()
    yield slack
    await slack.close()


def slack_settings(settings_factory: Callable[..., Settings], fake: FakeSlack) -> Settings:
    return settings_factory(
        slack_bot_token=BOT_TOKEN,
        slack_app_token=APP_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake.api_url,
    )


async def test_socket_mode_round_trip(
    settings_factory, advisor, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # everything slack_sdk and Bolt log, to check for secrets
    settings = slack_settings(settings_factory, fake)
    async with running(
        run_slack(settings, http=False, host="", port=0, chat=build_chat_service(settings, advisor))
    ):
        await fake.wait_connected()
        [opened] = fake.calls_to("apps.connections.open")
        assert opened.token == APP_TOKEN  # the app-level token opens the socket

        sent = time.perf_counter()
        ack = await fake.send_envelope("events_api", event("app_mention"), envelope_id="e1")
        assert ack == {"envelope_id": "e1"}
        [reply] = await fake.wait_for("chat.postMessage")
        print(f"\nsocket mode event -> chat.postMessage: {(reply.at - sent) * 1000:.0f} ms")
        assert reply.token == BOT_TOKEN
        assert reply.args["thread_ts"] == MENTION_TS
        assert block_texts(reply.args["blocks"], "context")[0].startswith("*출처*")

        # First delivery says retry_attempt 0; a redelivery of the same event is not answered
        # (checked below, once the bot has finished with it).
        again = await fake.send_envelope(
            "events_api", event("app_mention"), envelope_id="e2", retry_attempt=1
        )
        assert again == {"envelope_id": "e2"}

        # Slash commands: the ack's payload carries the immediate reply.
        ack = await fake.send_envelope("slash_commands", command("help"), envelope_id="e3")
        assert "콜센터 경력 도우미" in ack["payload"]["text"]

        # Interactivity: a vote through the socket, acknowledged privately.
        actions = next(b for b in reply.args["blocks"] if b["type"] == "actions")
        click = load("block_actions")
        click["container"]["message_ts"] = reply.result["ts"]
        click["response_url"] = fake.response_url("vote")
        click["actions"][0]["value"] = actions["elements"][0]["value"]
        assert await fake.send_envelope("interactive", click, envelope_id="e4") == {
            "envelope_id": "e4"
        }
        [thanks] = await fake.wait_for("response_url")
        assert thanks.args["response_type"] == "ephemeral"
        [vote] = await advisor.memory.store.votes()
        assert (vote.user_id, vote.vote, vote.message_ref) == (
            ASKER,
            1,
            f"{CHANNEL}:{reply.result['ts']}",
        )

        assert fake.pings >= 1  # the client pings on connect; the fake answered
    # `run_slack` has stopped, and it waits for the events in hand as it stops: every
    # envelope above was acknowledged, so each was handled to the end. One answer only.
    assert len(fake.calls_to("chat.postMessage")) == 1
    assert fake.ws_connections == 1
    for secret in (BOT_TOKEN, APP_TOKEN, SIGNING_SECRET):
        assert secret not in caplog.text


async def health(
    session: aiohttp.ClientSession, base: str, within_s: float = 60.0
) -> tuple[int, Any]:
    """GET /healthz once the server listens (it starts in the background)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while True:
        try:
            async with session.get(f"{base}/healthz") as resp:
                return resp.status, await resp.json()
        except aiohttp.ClientConnectionError:
            assert loop.time() < deadline, f"nothing listened on {base} within {within_s} s"
            await asyncio.sleep(0.05)


async def test_http_mode_serves_events_and_health(settings_factory, advisor, fake) -> None:
    settings = slack_settings(settings_factory, fake)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with (
        running(
            run_slack(
                settings,
                http=True,
                host="127.0.0.1",
                port=port,
                chat=build_chat_service(settings, advisor),
            )
        ),
        aiohttp.ClientSession() as session,
    ):
        idle = {"status": "ok", "reingest_running": False, "in_flight": 0}
        assert await health(session, base) == (200, idle)

        body = json.dumps(event("app_mention"))
        ts = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sign(SIGNING_SECRET, ts, body),
        }
        async with session.post(f"{base}/slack/events", data=body, headers=headers) as resp:
            assert resp.status == 200
        [reply] = await fake.wait_for("chat.postMessage")
        assert reply.args["thread_ts"] == MENTION_TS

        headers["X-Slack-Signature"] = sign("wrong", ts, body)
        async with session.post(f"{base}/slack/events", data=body, headers=headers) as resp:
            assert resp.status == 401
        async with session.get(f"{base}/slack/events") as resp:
            assert resp.status == 405


async def test_run_slack_names_the_missing_token(settings_factory) -> None:
    from bot.chat.slack_app import SlackConfigError

    settings = settings_factory(slack_bot_token=BOT_TOKEN)
    with pytest.raises(SlackConfigError, match="SLACK_APP_TOKEN"):
        await run_slack(settings, http=False, host="", port=0)
    with pytest.raises(SlackConfigError, match="SLACK_SIGNING_SECRET"):
        await run_slack(settings, http=True, host="127.0.0.1", port=0)


#: Bounds a run_slack that should stop: without the start-up checks it retries or serves on.
STOPS_WITHIN_S = 120


def loud(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What was logged as an error or with a traceback."""
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


@pytest.mark.parametrize("http", [False, True], ids=["socket_mode", "http"])
async def test_a_revoked_bot_token_stops_run_slack_naming_it(
    settings_factory, advisor, fake: FakeSlack, caplog: pytest.LogCaptureFixture, http: bool
) -> None:
    from bot.chat.slack_app import SlackConfigError

    fake.revoke(BOT_TOKEN)
    settings = slack_settings(settings_factory, fake)
    job = run_slack(
        settings,
        http=http,
        host="127.0.0.1",
        port=free_port(),
        chat=build_chat_service(settings, advisor),
    )
    with pytest.raises(SlackConfigError, match="SLACK_BOT_TOKEN") as caught:
        await asyncio.wait_for(job, STOPS_WITHIN_S)
    assert "token_revoked" in str(caught.value)
    assert BOT_TOKEN not in str(caught.value)
    assert [c.method for c in fake.calls] == ["auth.test"]  # checked once, nothing served
    assert fake.ws_connections == 0
    assert loud(caplog) == []


async def test_a_revoked_app_token_stops_socket_mode_naming_it(
    settings_factory, advisor, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.chat.slack_app import SlackConfigError

    fake.revoke(APP_TOKEN)
    settings = slack_settings(settings_factory, fake)
    job = run_slack(
        settings, http=False, host="", port=0, chat=build_chat_service(settings, advisor)
    )
    with pytest.raises(SlackConfigError, match="SLACK_APP_TOKEN") as caught:
        await asyncio.wait_for(job, STOPS_WITHIN_S)
    message = str(caught.value)
    assert "token_revoked" in message
    assert "SLACK_BOT_TOKEN" not in message
    assert APP_TOKEN not in message
    # Opened once with the app token, not retried; no socket was ever opened.
    [opened] = fake.calls_to("apps.connections.open", ok_only=False)
    assert opened.token == APP_TOKEN
    assert fake.ws_connections == 0
    assert loud(caplog) == []


async def test_a_bot_token_slack_does_not_know_is_named(settings_factory, advisor, fake) -> None:
    """Mistyped, or another workspace's: Slack answers invalid_auth."""
    from bot.chat.slack_app import SlackConfigError

    settings = slack_settings(settings_factory, fake)
    fake.bot_token = "xoxb-another-workspace-token"
    with pytest.raises(SlackConfigError, match=r"SLACK_BOT_TOKEN \(invalid_auth\)"):
        await asyncio.wait_for(
            run_slack(
                settings,
                http=True,
                host="127.0.0.1",
                port=free_port(),
                chat=build_chat_service(settings, advisor),
            ),
            STOPS_WITHIN_S,
        )


async def test_slack_unreachable_at_start_is_not_called_a_token_error(
    settings_factory, advisor
) -> None:
    from bot.chat.slack_app import SlackUnreachable

    nowhere = f"http://127.0.0.1:{free_port()}/api/"  # nothing listens there
    settings = settings_factory(
        slack_bot_token=BOT_TOKEN,
        slack_app_token=APP_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=nowhere,
    )
    job = run_slack(
        settings, http=False, host="", port=0, chat=build_chat_service(settings, advisor)
    )
    with pytest.raises(SlackUnreachable, match="could not be reached") as caught:
        await asyncio.wait_for(job, STOPS_WITHIN_S)
    assert "refused" not in str(caught.value)
    assert BOT_TOKEN not in str(caught.value)
