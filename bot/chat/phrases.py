"""What the chat surfaces say in their own words, once for every platform, in Korean and English.

The advisor's own phrases (answers, declines, the apology for a failed answer, help) stay in
`bot.advisor.messages`; `phrase` reads both, so an adapter needs nothing else to say something. Which
language a reply is in is decided here too (`reply_language`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from bot.advisor.messages import TEXT as ADVISOR_TEXT
from bot.advisor.messages import say
from bot.chat.outcomes import (
    Empty,
    Failed,
    RateLimited,
    Refused,
    ReingestDone,
    ReingestFailed,
    ReingestRefused,
    ReingestRunning,
    ReingestStarted,
    ReportFailed,
    ReportReady,
    ReportRequest,
    VoteFailed,
    VoteRecorded,
)

#: Both languages, "Korean (English)": for admin replies to a bare command word like
#: "reingest", which says nothing about the admin's language.
BOTH: Final = "both"

PHRASES: dict[str, dict[str, str]] = {
    # -- answers --------------------------------------------------------------------------
    "helpful": {"ko": "도움이 됐어요", "en": "Helpful"},
    "not_helpful": {"ko": "도움이 안 됐어요", "en": "Not helpful"},
    "working": {"ko": "⏳ 찾아보는 중이에요…", "en": "⏳ Looking that up…"},
    "asked": {"ko": "{user} 님의 질문: {question}", "en": "{user} asked: {question}"},
    "path_picture": {"ko": "경력 경로 그림", "en": "Career path picture"},
    "evidence": {"ko": "근거 조각", "en": "Evidence"},
    "continued": {"ko": "계속", "en": "continued"},
    "rate_limited": {
        "ko": "질문이 너무 많아요. {seconds}초 후에 다시 물어봐 주세요.",
        "en": "That's a lot of questions at once. Please try again in {seconds} seconds.",
    },
    "commands": {"ko": "명령어", "en": "Commands"},
    "commands_list": {
        "ko": (
            "`/career ask` 질문하기 · `/career help` 도움말 · "
            "`/career-admin reingest` 문서 재색인(관리자) · "
            "`/career-admin report` 부족한 지식 보고서(관리자)\n"
            "채널에서 저를 멘션하거나 DM으로 물어봐도 돼요. 제 답변에 답장하면 대화가 이어져요."
        ),
        "en": (
            "`/career ask` ask a question · `/career help` this help · "
            "`/career-admin reingest` re-index the documents (admins) · "
            "`/career-admin report` what the knowledge lacks (admins)\n"
            "You can also mention me in a channel or DM me. Reply to my answer to follow up."
        ),
    },
    # -- votes ----------------------------------------------------------------------------
    "vote_up": {
        "ko": "피드백 고마워요! 👍 기록했어요.",
        "en": "Thanks for the feedback! 👍 noted.",
    },
    "vote_down": {
        "ko": "피드백 고마워요. 👎 기록했고, 답변을 개선하는 데 쓸게요.",
        "en": "Thanks for the feedback. 👎 noted; we'll use it to improve.",
    },
    "vote_failed": {
        "ko": "지금은 피드백을 저장하지 못했어요. 잠시 후 다시 눌러 주세요. (참조 번호: {ref})",
        "en": "I couldn't save your feedback just now. Please try again shortly. (reference: {ref})",
    },
    # -- admin commands -------------------------------------------------------------------
    "admins_slack": {
        "ko": "SLACK_ADMIN_USER_IDS에 등록된 관리자",
        "en": "the admins listed in SLACK_ADMIN_USER_IDS",
    },
    "admins_discord": {
        "ko": (
            "DISCORD_ADMIN_USER_IDS에 등록된 관리자나 DISCORD_ADMIN_GUILD_IDS에 등록된 서버에서 "
            "서버 관리 권한이 있는 멤버"
        ),
        "en": (
            "the admins listed in DISCORD_ADMIN_USER_IDS or members with Manage Server in a "
            "server listed in DISCORD_ADMIN_GUILD_IDS"
        ),
    },
    "reingest_denied": {
        "ko": "문서 재색인은 {admins}만 할 수 있어요.",
        "en": "Only {admins} can re-index the documents.",
    },
    "reingest_busy": {
        "ko": "이미 문서 재색인이 진행 중이에요. 끝나면 결과를 알려 드릴게요.",
        "en": "A re-index is already running. I'll post the result when it is done.",
    },
    "reingest_started": {
        "ko": "문서 재색인을 시작했어요. 그동안에도 기존 색인으로 계속 답해요. 끝나면 이 채널에 알려 드릴게요.",
        "en": (
            "Re-indexing the documents. I keep answering from the current index meanwhile "
            "and will post here when it is done."
        ),
    },
    "reingest_done": {
        "ko": (
            "문서 재색인이 끝났어요 ({seconds:.1f}초). 문서 {documents}개, 조각 {chunks}개: "
            "추가 {added}, 변경 {updated}, 삭제 {removed}, 그대로 {unchanged}."
        ),
        "en": (
            "Re-index finished in {seconds:.1f} s. {documents} documents, {chunks} chunks: "
            "{added} added, {updated} updated, {removed} removed, {unchanged} unchanged."
        ),
    },
    "reingest_skipped": {"ko": "건너뛴 파일: {files}", "en": "Skipped: {files}"},
    "reingest_kept": {
        "ko": "⚠️ 읽을 수 없게 된 파일(고칠 때까지 이전 내용으로 답변): {files}",
        "en": "⚠️ Broken files (their previous version answers until fixed): {files}",
    },
    "reingest_failed": {
        "ko": "문서 재색인에 실패했어요. 기존 색인으로 계속 답해요. (참조 번호: {ref})",
        "en": "The re-index failed; I keep answering from the current index. (reference: {ref})",
    },
    "report_denied": {
        "ko": "보고서는 {admins}만 볼 수 있어요.",
        "en": "Only {admins} can see the report.",
    },
    "report_bad_period": {
        "ko": "기간을 알아볼 수 없어요: {value}. 예: 7d, 24h, 2w",
        "en": "Unknown period: {value}. Try 7d, 24h or 2w.",
    },
    "report_failed": {
        "ko": "보고서를 만들지 못했어요. 잠시 후 다시 시도해 주세요. (참조 번호: {ref})",
        "en": "Could not build the report; please try again shortly. (reference: {ref})",
    },
}


def phrase(key: str, language: str, **values: object) -> str:
    """The phrase `key` in `language` ('ko', 'en' or `BOTH`), with `values` filled in.

    A value that is itself a mapping of language to text (another phrase's entry) is taken
    in the phrase's language, so "{admins}" reads right in both halves of a `BOTH` reply.
    """
    if language == BOTH:
        return f"{phrase(key, 'ko', **values)} ({phrase(key, 'en', **values)})"
    filled = {
        name: value.get(language, value.get("en", "")) if isinstance(value, Mapping) else value
        for name, value in values.items()
    }
    table = PHRASES if key in PHRASES else ADVISOR_TEXT
    return say(key, language, table=table, **filled)


Outcome = (
    RateLimited
    | ReingestDone
    | ReingestFailed
    | ReingestRefused
    | ReportReady
    | ReportFailed
    | ReportRequest
    | VoteRecorded
    | VoteFailed
    | Empty
    | Failed
    | Refused
    | ReingestStarted
    | ReingestRunning
)


def describe(outcome: Outcome, language: str) -> str:
    """What the bot tells the user about a chat service outcome, in `language`."""
    match outcome:
        case RateLimited(seconds=seconds):
            return phrase("rate_limited", language, seconds=seconds)
        case ReingestDone(summary=summary):
            text = phrase("reingest_done", language, **summary)
            kept = [str(k.get("source", k)) for k in summary.get("kept") or []]
            skipped = [str(s.get("source", s)) for s in summary.get("skipped") or []]
            if skipped := [source for source in skipped if source not in kept]:
                text += "\n" + phrase("reingest_skipped", language, files=", ".join(skipped))
            if kept:
                text += "\n" + phrase("reingest_kept", language, files=", ".join(kept))
            return text
        case ReingestFailed(ref=ref):
            return phrase("reingest_failed", language, ref=ref)
        case ReingestRefused():
            return phrase("reingest_busy", language)
        case ReportReady(text=text):
            return text
        case ReportFailed(ref=ref):
            return phrase("report_failed", language, ref=ref)
        case ReportRequest(value=value):  # asked for with a period that is none
            return phrase("report_bad_period", language, value=value[:40])
        case VoteRecorded(vote=vote):
            return phrase("vote_up" if vote > 0 else "vote_down", language)
        case VoteFailed(ref=ref):
            return phrase("vote_failed", language, ref=ref)
        case Empty():
            return phrase("empty", language)
        case Failed(ref=ref):  # answering a message failed
            return phrase("error", language, ref=ref)
        case Refused(command=command, platform=platform):
            return refusal(command, platform, language)
        case ReingestStarted():
            return phrase("reingest_started", language)
        case ReingestRunning():
            return phrase("reingest_busy", language)


def refusal(command: str, platform: str, language: str) -> str:
    """Why a non-admin may not run `command` ("reingest", "report") on `platform`."""
    return phrase(f"{command}_denied", language, admins=PHRASES[f"admins_{platform}"])
