"""The `career-bot` command line, run in process against the session index."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.devtools.loopback.slack import FakeSlack


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> object:
    return CliRunner().invoke(app, list(args), env=env, input=stdin)


def test_ask_json_has_the_promised_shape(env: dict[str, str]) -> None:
    result = run(env, "ask", "--json", "콜센터 매니저에게 필요한 필수 기술은?")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    data = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert set(data) == {"q", "answer", "abstained", "language", "citations", "latency_ms"}
    assert data["abstained"] is False
    assert data["language"] == "ko"
    assert "협상" in data["answer"]
    assert set(data["citations"][0]) == {"source", "section", "text", "score"}
    assert data["citations"][0]["section"] == "콜센터 매니저"


def test_ask_prints_the_answer_with_its_sources(env: dict[str, str]) -> None:
    result = run(env, "ask", "What is the highest position in a call center?")
    assert result.exit_code == 0
    out = result.stdout  # type: ignore[attr-defined]
    assert "CCO" in out
    assert "Sources" in out


def test_ask_jsonl_keeps_conversations_apart(env: dict[str, str]) -> None:
    lines = [
        {"q": "운영 관리자는 무슨 일을 해?", "conv": "a"},
        {"q": "팀 리더는 어떤 일을 하나요?", "conv": "b"},
        {"q": "그 직책에 필요한 기술은?", "conv": "a"},
        {"q": "그 역할에 필요한 기술은?", "conv": "b"},
        {"no": "q"},
        {"q": "내일 날씨 어때?"},
    ]
    stdin = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\nnot json\n"
    result = run(env, "ask", "--jsonl", stdin=stdin)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    rows = [json.loads(line) for line in result.stdout.splitlines()]  # type: ignore[attr-defined]
    assert len(rows) == 7
    assert "비판적 사고" in rows[2]["answer"]
    assert "업무 및 서비스 지식" in rows[3]["answer"]
    assert rows[4] == {"line": 5, "error": "expected a JSON object with a 'q' field holding text"}
    assert rows[5]["abstained"] is True
    assert rows[6]["line"] == 7


def test_eval_scores_reports_misses_and_sets_the_exit_code(
    env: dict[str, str], tmp_path: Path
) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text(
        "\n".join(
            json.dumps(c, ensure_ascii=False)
            for c in [
                {"q": "콜센터의 가장 높은 직책은?", "kind": "fact", "any": ["CCO"], "min": 1},
                {"q": "What's the weather tomorrow?", "kind": "oos"},
                {
                    "q": "팀 리더 기술은?",
                    "kind": "list",
                    "any": ["없는 문구", "또 없는 문구"],
                    "min": 2,
                },
            ]
        ),
        encoding="utf-8",
    )
    result = run(env, "eval", str(cases), "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert (data["hits"], data["total"]) == (2, 3)
    assert data["per_kind"]["oos"] == {"hits": 1, "total": 1}
    assert data["misses"][0]["missing"] == ["없는 문구", "또 없는 문구"]
    failing = run(env, "eval", str(cases), "--min-score", "0.9")
    assert failing.exit_code == 1
    assert "MISS" in failing.stdout  # type: ignore[attr-defined]
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"q": "x", "kind": "essay"}\n', encoding="utf-8")
    assert run(env, "eval", str(broken)).exit_code == 2
    assert run(env, "eval", str(tmp_path / "missing.jsonl")).exit_code == 2


def test_chat_session_answers_follow_ups_and_commands(env: dict[str, str]) -> None:
    stdin = (
        "/help\n팀 리더는 어떤 일을 하나요?\n그 역할에 필요한 기술은?\n/reset\n/bogus\n\n/quit\n"
    )
    result = run(env, "chat", stdin=stdin)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    out = result.stdout  # type: ignore[attr-defined]
    assert "/help, /reset, /quit" in out
    assert "업무 및 서비스 지식" in out
    assert "대화를 새로 시작했어요" in out
    assert "Unknown command /bogus" in out


def test_run_without_tokens_starts_the_console(env: dict[str, str]) -> None:
    result = run(env, "run", stdin="/quit\n")
    assert result.exit_code == 0
    assert "starting the console advisor" in result.output  # type: ignore[attr-defined]


def test_bad_configuration_is_reported_without_a_traceback(env: dict[str, str]) -> None:
    bad_port = run({**env, "CHROMA_HOST": "localhost"}, "ask", "hi")
    assert bad_port.exit_code == 2
    assert "CHROMA_PORT" in bad_port.output  # type: ignore[attr-defined]
    placeholder = run({**env, "SLACK_BOT_TOKEN": "xoxb-your-token"}, "run")
    assert placeholder.exit_code == 2
    assert "placeholder" in placeholder.output  # type: ignore[attr-defined]
    wrong = run(
        {**env, "SLACK_BOT_TOKEN": "token-without-prefix", "SLACK_APP_TOKEN": "xapp-1-abc"}, "run"
    )
    assert wrong.exit_code == 2
    assert "SLACK_BOT_TOKEN should start with 'xoxb-'" in wrong.output  # type: ignore[attr-defined]
    assert "token-without-prefix" not in wrong.output  # type: ignore[attr-defined]


def run_to_the_end(env: dict[str, str], *args: str, within_s: float = 300.0) -> object:
    """`run` from a thread: a bot that keeps running fails the test instead of hanging it."""
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(run(env, *args)), daemon=True)
    thread.start()
    thread.join(within_s)
    assert result, f"career-bot {' '.join(args)} was still running after {within_s:.0f} s"
    return result[0]


BOT_TOKEN = "xoxb-1111-2222-fakebottoken"
APP_TOKEN = "xapp-1-A0APP001-3333-fakeapptoken"


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A fake Slack served from a thread of its own: the commands run their own event loop."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> FakeSlack:
        return await FakeSlack(bot_token=BOT_TOKEN, app_token=APP_TOKEN).start()

    fake = asyncio.run_coroutine_threadsafe(start(), loop).result()
    yield fake
    asyncio.run_coroutine_threadsafe(fake.close(), loop).result()
    loop.call_soon_threadsafe(loop.stop)
    thread.join()
    loop.close()


def test_a_revoked_slack_token_stops_the_bot_with_exit_2(
    env: dict[str, str], fake_slack: FakeSlack
) -> None:
    slack_env = env | {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": fake_slack.api_url,
    }
    fake_slack.revoke(BOT_TOKEN)
    slack = run_to_the_end(slack_env, "slack")
    assert slack.exit_code == 2, slack.output  # type: ignore[attr-defined]
    assert "SLACK_BOT_TOKEN" in slack.output  # type: ignore[attr-defined]
    assert BOT_TOKEN not in slack.output  # type: ignore[attr-defined]

    fake_slack.revoked = {APP_TOKEN}
    main_job = run_to_the_end(slack_env, "run")
    assert main_job.exit_code == 2, main_job.output  # type: ignore[attr-defined]
    assert "SLACK_APP_TOKEN" in main_job.output  # type: ignore[attr-defined]
    assert APP_TOKEN not in main_job.output  # type: ignore[attr-defined]
    assert "Traceback" not in main_job.output  # type: ignore[attr-defined]


def test_chroma_access_settings_without_a_server_stop_with_exit_2(env: dict[str, str]) -> None:
    token = run({**env, "CHROMA_TOKEN": "s3cret-token"}, "ask", "hi")
    assert token.exit_code == 2, token.output  # type: ignore[attr-defined]
    assert "CHROMA_TOKEN is set but CHROMA_HOST is not" in token.output  # type: ignore[attr-defined]
    assert "s3cret-token" not in token.output  # type: ignore[attr-defined]
    ssl = run({**env, "CHROMA_SSL": "true"}, "ingest", "--if-stale")
    assert ssl.exit_code == 2, ssl.output  # type: ignore[attr-defined]
    assert "CHROMA_SSL is set but CHROMA_HOST is not" in ssl.output  # type: ignore[attr-defined]


def test_an_llm_provider_without_a_model_stops_with_exit_2(env: dict[str, str]) -> None:
    result = run({**env, "LLM_PROVIDER": "openai", "LLM_BASE_URL": ""}, "ask", "hi")
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    assert "LLM_MODEL" in result.output  # type: ignore[attr-defined]
    assert "Traceback" not in result.output  # type: ignore[attr-defined]
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_bad_log_level_stops_every_command_with_exit_2(env: dict[str, str]) -> None:
    for args in (["ask", "hi"], ["ingest", "--if-stale"], ["run"]):
        result = run({**env, "LOG_LEVEL": "chatty"}, *args)
        assert result.exit_code == 2, (args, result.output)  # type: ignore[attr-defined]
        assert "LOG_LEVEL" in result.output  # type: ignore[attr-defined]
        assert "Traceback" not in result.output  # type: ignore[attr-defined]


def test_a_state_url_password_is_never_shown(env: dict[str, str]) -> None:
    url = "postgresql+asyncpg://bot:hunter2-secret@127.0.0.1:9/db"
    result = run({**env, "STATE_URL": url, "LOG_LEVEL": "loud"}, "ask", "hi")
    assert result.exit_code == 2
    assert "hunter2-secret" not in result.output  # type: ignore[attr-defined]


def test_one_bad_jsonl_line_gets_one_error_line_and_the_batch_goes_on(
    env: dict[str, str],
) -> None:
    lines = [
        '{"q": "\\ud800 상담원 급여는?"}',  # a lone surrogate, escaped in JSON
        "[" * 100_000 + "]" * 100_000,  # nested deeper than the parser recurses
        '{"q": null}',
        '{"q": ["팀 리더"]}',
        '{"q": "팀 리더는 어떤 일을 하나요?"}',
    ]
    stdin = ("\n".join(lines) + "\n").encode() + b"\xff\xfe not utf-8\n"
    result = CliRunner().invoke(app, ["ask", "--jsonl"], env=env, input=stdin)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 6
    assert rows[0]["q"] == "\ufffd 상담원 급여는?"
    assert rows[0]["answer"]
    bad = "expected a JSON object with a 'q' field holding text"
    assert rows[1:4] == [{"line": n, "error": bad} for n in (2, 3, 4)]
    assert "팀 리더" in rows[4]["answer"]
    assert rows[5] == {"line": 6, "error": bad}


def test_bench_in_a_data_directory_with_no_index_says_so(
    env: dict[str, str], tmp_path: Path
) -> None:
    fresh = {**env, "DATA_DIR": str(tmp_path / "fresh")}
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"q": "팀 리더는?", "kind": "fact", "any": [], "min": 0}\n')
    result = run(fresh, "bench", "--quick", "--questions", str(questions))
    assert result.exit_code == 1, result.output  # type: ignore[attr-defined]
    assert "career-bot ingest" in result.output  # type: ignore[attr-defined]
    assert result.exception is None or isinstance(result.exception, SystemExit)  # type: ignore[attr-defined]


def test_an_unexpected_error_is_one_line_and_exit_1(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import bot.cli

    def broken(**_: object) -> None:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(bot.cli, "load_settings", broken)
    monkeypatch.setattr("sys.argv", ["career-bot", "ask", "팀 리더는?"])
    with pytest.raises(SystemExit) as stopped:
        bot.cli.main()
    assert stopped.value.code == 1
    err = capsys.readouterr().err
    assert "unexpected error (RuntimeError)" in err
    assert "Traceback" not in err
    assert "secret detail" not in err


def test_a_chat_session_applies_the_retention_periods(env: dict[str, str], tmp_path: Path) -> None:
    import asyncio
    import time

    from bot.state import Vote
    from bot.state.sql import SqlStateStore

    url = f"sqlite+aiosqlite:///{tmp_path / 'chat-state.sqlite3'}"
    long_ago = time.time() - 400 * 86400

    async def seed() -> None:
        state = SqlStateStore(url, clock=lambda: long_ago)
        await state.start()
        await state.record_exchange("console:old", "console", "console", "옛 질문", "옛 답")
        await state.record_vote(Vote("slack", "m", "U1", -1, "옛 질문", "a", [], long_ago))
        await state.close()

    async def left() -> tuple[int, int]:
        state = SqlStateStore(url)
        await state.start()
        counts = await state.count("turns"), await state.count("feedback")
        await state.close()
        return counts

    asyncio.run(seed())
    result = run({**env, "STATE_URL": url}, "chat", stdin="/quit\n")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert asyncio.run(left()) == (0, 0)
