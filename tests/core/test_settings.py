"""Settings validate at start-up: a bad value is a message naming the setting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from core.settings import Settings, SettingsError


def build(tmp_path: Path, **values: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, **values)  # type: ignore[call-arg]


def test_state_url_is_a_secret(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://bot:hunter2@db.example/state"
    settings = build(tmp_path, state_url=url)
    assert settings.state_database_url == url
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings.model_dump())
    assert build(tmp_path, state_url="").state_url is None


def test_log_level_is_checked_and_normalised(tmp_path: Path) -> None:
    assert build(tmp_path, log_level="debug").log_level == "DEBUG"
    with pytest.raises(ValidationError, match="log_level"):
        build(tmp_path, log_level="verbose")


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"llm_provider": "openai", "llm_base_url": "http://127.0.0.1:9/v1"}, "LLM_MODEL"),
        ({"llm_provider": "openai", "llm_model": "gpt-4o-mini"}, "LLM_API_KEY"),
        ({"llm_provider": "anthropic", "llm_model": "claude-haiku-4-5"}, "LLM_API_KEY"),
        ({"llm_provider": "ollama", "llm_model": "m", "llm_timeout_s": 0}, "LLM_TIMEOUT_S"),
        ({"llm_provider": "gemini"}, "llm_provider"),
    ],
)
def test_llm_configuration_is_checked(tmp_path: Path, values: dict[str, Any], named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        build(tmp_path, **values)


def test_a_complete_llm_configuration_passes(tmp_path: Path) -> None:
    settings = build(tmp_path, llm_provider="Ollama", llm_model="qwen2.5:7b")
    assert settings.llm_provider == "ollama"


def test_http_host_and_port_are_settings(tmp_path: Path) -> None:
    settings = build(tmp_path)
    assert (settings.http_host, settings.http_port) == ("0.0.0.0", 3000)
    assert build(tmp_path, http_host="127.0.0.1", http_port=8080).http_port == 8080
    with pytest.raises(ValidationError, match="http_port"):
        build(tmp_path, http_port=70000)


def test_the_discord_token_is_asked_for_by_name(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="DISCORD_TOKEN is not set") as caught:
        build(tmp_path).discord_bot_token()
    assert "Developer Portal" in str(caught.value)
    token = "MTA5ODc2NTQzMjEwOTg3NjU0Mw.GwRoNg.aRealLookingTokenValue0000"
    settings = build(tmp_path, discord_token=token)
    assert settings.discord_bot_token() == token
    assert token not in repr(settings)


def test_no_developer_setting_reaches_the_tests() -> None:
    """conftest.py removes every setting from the environment and switches `.env` off."""
    import os

    leaked = {name for name in os.environ if name.lower() in Settings.model_fields}
    assert not leaked
    assert Settings.model_config.get("env_file") is None


def test_the_chroma_token_is_a_secret_sent_only_to_a_server(tmp_path: Path) -> None:
    server = {"chroma_host": "chroma.internal", "chroma_port": 8000}
    settings = build(tmp_path, chroma_token="s3cret-token", **server)
    assert settings.chroma_token is not None
    assert settings.chroma_token.get_secret_value() == "s3cret-token"
    assert "s3cret-token" not in repr(settings)
    assert "s3cret-token" not in str(settings.model_dump())
    assert build(tmp_path, chroma_token="", **server).chroma_token is None
    with pytest.raises(ValidationError, match="CHROMA_TOKEN is set but CHROMA_HOST is not"):
        build(tmp_path, chroma_token="s3cret-token")
    with pytest.raises(ValidationError, match="placeholder"):
        build(tmp_path, chroma_token="your-token", **server)
    with pytest.raises(ValidationError, match="printable ASCII"):
        build(tmp_path, chroma_token="two words", **server)


def test_the_chroma_auth_header_is_one_chroma_knows(tmp_path: Path) -> None:
    assert build(tmp_path).chroma_auth_header == "Authorization"
    assert build(tmp_path, chroma_auth_header="x_chroma_token").chroma_auth_header == (
        "X-Chroma-Token"
    )
    with pytest.raises(ValidationError, match="X-Chroma-Token"):
        build(tmp_path, chroma_auth_header="X-Api-Key")


def test_chroma_tls_settings_are_checked(tmp_path: Path) -> None:
    server = {"chroma_host": "chroma.internal", "chroma_port": 8443}
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    settings = build(tmp_path, chroma_ssl="true", chroma_ca_file=str(ca), **server)
    assert (settings.chroma_ssl, settings.chroma_ca_file) == (True, ca)
    with pytest.raises(ValidationError, match="CHROMA_SSL is set but CHROMA_HOST is not"):
        build(tmp_path, chroma_ssl=True)
    with pytest.raises(ValidationError, match="set CHROMA_SSL=true"):
        build(tmp_path, chroma_ca_file=str(ca), **server)
    with pytest.raises(ValidationError, match="is not a file"):
        build(tmp_path, chroma_ssl=True, chroma_ca_file=str(tmp_path / "missing.pem"), **server)


def test_slack_settings_are_named_never_shown(tmp_path: Path) -> None:
    bot_only = build(tmp_path, slack_bot_token="xoxb-1-2-secretvalue")
    with pytest.raises(SettingsError, match=r"Socket Mode needs SLACK_APP_TOKEN; set it in \.env"):
        bot_only.check_slack(http=False)
    with pytest.raises(SettingsError, match=r"HTTP mode \(--http\) needs SLACK_SIGNING_SECRET"):
        bot_only.check_slack(http=True)
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN and SLACK_APP_TOKEN"):
        build(tmp_path).check_slack(http=False)
    swapped = build(
        tmp_path, slack_bot_token="xapp-1-secretvalue", slack_app_token="xoxb-1-secretvalue"
    )
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN should start with 'xoxb-'") as info:
        swapped.check_slack(http=False)
    assert "secretvalue" not in str(info.value)
    app_swapped = build(
        tmp_path, slack_bot_token="xoxb-1-a", slack_app_token="xoxb-1-b", slack_signing_secret="s"
    )
    with pytest.raises(SettingsError, match="SLACK_APP_TOKEN should start with 'xapp-'"):
        app_swapped.check_slack(http=False)
    app_swapped.check_slack(http=True)  # HTTP mode needs no app token, so none is checked
