"""The admin command words, the outcome texts and the reply language, shared by every surface."""

from __future__ import annotations

import pytest

from bot.chat.language import reply_language
from bot.chat.outcomes import (
    Ask,
    Help,
    RateLimited,
    Reingest,
    ReingestDone,
    ReingestRefused,
    ReportRequest,
    VoteFailed,
    VoteRecorded,
)
from bot.chat.phrases import BOTH, describe, phrase, refusal
from bot.chat.service import parse_command


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("", Help()),
        (" 도움말 ", Help()),
        ("--help", Help()),
        ("Reingest", Reingest()),
        ("재수집", Reingest()),
        ("report", ReportRequest(7 * 86400, "7d")),
        ("보고서 24h", ReportRequest(86400, "24h")),
        ("report soon", ReportRequest(None, "soon")),
        ("보고서 잘 쓰는 법 알려줘", Ask("보고서 잘 쓰는 법 알려줘")),
        ("help me find a job", Ask("help me find a job")),
    ],
)
def test_command_words_are_parsed_into_typed_commands(text: str, command: object) -> None:
    assert parse_command(text) == command


def test_outcomes_are_described_in_the_language_asked() -> None:
    assert "3초" in describe(RateLimited(seconds=3, limit=5), "ko")
    assert describe(VoteRecorded(1), "en").startswith("Thanks for the feedback! 👍")
    assert "ab12cd34" in describe(VoteFailed("ab12cd34"), "ko")
    assert describe(ReportRequest(None, "x" * 100), "en").count("x") == 40
    busy = describe(ReingestRefused(), BOTH)
    assert busy == f"{phrase('reingest_busy', 'ko')} ({phrase('reingest_busy', 'en')})"


def test_a_refusal_names_the_platforms_admins_in_each_language() -> None:
    both = refusal("reingest", "slack", BOTH)
    assert "SLACK_ADMIN_USER_IDS에 등록된 관리자만" in both
    assert "(Only the admins listed in SLACK_ADMIN_USER_IDS can" in both
    assert "Manage Server" in refusal("report", "discord", "en")


def test_the_reply_language_follows_the_text_then_the_locale() -> None:
    assert reply_language("What does a team leader do?") == "en"
    assert reply_language("팀 리더는?", "en-US") == "ko"
    assert reply_language("", "en-GB") == "en"
    assert reply_language("👍", None) == "ko"


def test_a_reingest_names_broken_files_apart_from_skipped_ones() -> None:
    summary = {
        "documents": 2,
        "seconds": 1.5,
        "chunks": 5,
        "added": 0,
        "updated": 1,
        "removed": 0,
        "unchanged": 1,
        "skipped": [{"source": "scan.pdf"}, {"source": "roles.txt"}],
        "kept": [{"source": "roles.txt", "reason": "its metadata file is not valid YAML"}],
    }
    text = describe(ReingestDone(summary), "en")
    assert "Skipped: scan.pdf\n" in text
    assert "previous version answers until fixed): roles.txt" in text
    assert "YAML" not in text  # the reason stays in the admin's log and CLI
