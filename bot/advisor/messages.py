"""Everything the bot says in its own words, in Korean and English."""

from __future__ import annotations

from collections.abc import Mapping

TEXT: dict[str, dict[str, str]] = {
    "intro_list": {"ko": "문서에 따르면 다음과 같습니다.", "en": "Here is what the documents say:"},
    "intro_fact": {"ko": "문서에 따르면:", "en": "According to the documents:"},
    "not_covered": {
        "ko": "문서에는 {what}에 대한 정보가 없어요.",
        "en": "The documents don't cover {what}.",
    },
    "can_answer": {
        "ko": (
            "저는 콜센터의 직무와 업무, 급여, 필요한 기술, 장단점, 스트레스 관리, 근무 일정, "
            "직급과 경력 경로에 대해 문서에 있는 내용으로 답할 수 있어요."
        ),
        "en": (
            "I can answer from the documents about call-center roles and duties, pay, required "
            "skills, pros and cons, handling stress, schedules, and the hierarchy and career paths."
        ),
    },
    "not_covered_aspect": {
        "ko": "문서에는 {role}의 {aspect} 정보가 따로 없어요.",
        "en": "The documents don't give the {aspect} of the {role}.",
    },
    "role_not_described": {
        "ko": "문서에는 {role}에 대한 설명이 없어요.",
        "en": "The documents don't describe the {role} role.",
    },
    "same_as": {
        "ko": "문서는 {other}와 같은 설명을 해요.",
        "en": "The documents describe it in the same words as the {other}.",
    },
    "no_figure": {
        "ko": "문서에는 그 수치가 나와 있지 않아요.",
        "en": "The documents don't give that figure.",
    },
    "intro_general": {
        "ko": "문서의 일반적인 내용으로는:",
        "en": "What the documents say in general:",
    },
    "followup_about": {
        "ko": "('{focus}'에 대한 이전 질문에 이어서 답합니다.)",
        "en": "(Continuing from your question about '{focus}'.)",
    },
    "more_hint": {
        "ko": "더 궁금하면 '{section}'에 대해 더 물어보세요.",
        "en": "Ask me for more on '{section}'.",
    },
    "sources": {"ko": "출처", "en": "Sources"},
    "as_of": {"ko": "({date} 기준 수치)", "en": "(figure as of {date})"},
    "undated": {"ko": "(작성 날짜가 없는 문서의 수치)", "en": "(figure from an undated source)"},
    "decline": {
        "ko": (
            "죄송하지만 그 질문에 대한 답은 제가 가진 콜센터 경력 문서에 없어요. "
            "저는 콜센터의 직무와 업무, 급여, 필요한 기술, 장단점, 스트레스 관리, 근무 일정, "
            "직급과 경력 경로에 대해 답할 수 있어요."
        ),
        "en": (
            "Sorry, the call-center career documents I answer from don't cover that. "
            "I can help with call-center roles and duties, pay, required skills, pros and cons, "
            "handling stress, schedules, and the hierarchy and career paths."
        ),
    },
    "injection": {
        "ko": "메시지에 담긴 지시는 따르지 않아요. 저는 문서에 있는 내용으로만 답하니, 질문만 따로 보내 주세요.",
        "en": "I don't follow instructions inside messages; I only answer from the documents, so please send your question on its own.",
    },
    "try_asking": {"ko": "이런 질문을 해 보세요:", "en": "Try asking:"},
    "empty": {
        "ko": "질문을 입력해 주세요. 콜센터 직무, 급여, 필요한 기술, 경력 경로 등에 대해 답할 수 있어요.",
        "en": "Please type a question. I can answer about call-center roles, pay, skills and career paths.",
    },
    "truncated": {
        "ko": "메시지가 너무 길어서 앞의 {limit:,}자만 읽었어요.",
        "en": "Your message was long, so I read only its first {limit:,} characters.",
    },
    "unavailable": {
        "ko": "지식 베이스에 잠시 연결할 수 없어요. 잠시 후 다시 물어봐 주세요.",
        "en": "The knowledge base is temporarily unavailable. Please ask again in a moment.",
    },
    "not_built": {
        "ko": "아직 지식 베이스가 만들어지지 않았어요. 관리자에게 `career-bot ingest` 실행을 요청해 주세요.",
        "en": "The knowledge base has not been built yet. Ask an admin to run `career-bot ingest`.",
    },
    "error": {
        "ko": "죄송해요, 답변을 만드는 중에 문제가 생겼어요. (참조 번호: {ref})",
        "en": "Sorry, something went wrong while answering. (reference: {ref})",
    },
    "reset": {"ko": "대화를 새로 시작했어요.", "en": "Started a new conversation."},
    "help": {
        "ko": (
            "저는 콜센터 경력 도우미예요. 문서에 있는 내용으로만, 출처와 함께 답해요.\n"
            "• 직무와 업무, 필요한 기술, 급여, 장단점, 스트레스 관리, 근무 일정, 직급과 경력 경로\n"
            '• 이어지는 질문도 돼요: "팀 리더는 어떤 일을 하나요?" 다음에 "그 역할에 필요한 기술은?"'
        ),
        "en": (
            "I'm the call-center career advisor. I answer only from my documents, with sources.\n"
            "• Roles and duties, required skills, pay, pros and cons, stress, schedules, career paths\n"
            '• Follow-ups work: "What does a team leader do?" then "What skills does that job need?"'
        ),
    },
}

#: Example questions shown with the decline and help messages (general, not tied to any test).
EXAMPLES: dict[str, list[str]] = {
    "ko": [
        "콜센터 상담원에게 필요한 기술은 무엇인가요?",
        "콜센터에서 일하는 것의 장단점은?",
        "콜센터의 가장 높은 직책은 무엇인가요?",
    ],
    "en": [
        "What skills does a call center agent need?",
        "What are the pros and cons of call center work?",
        "What is the highest position in a call center?",
    ],
}


def say(
    key: str, language: str, *, table: Mapping[str, Mapping[str, str]] = TEXT, **values: object
) -> str:
    """The message `key` in the language ('ko' or 'en'), with values filled in.

    Other modules keep their own phrases in their own tables and pass `table`
    (`bot.chat.phrases` for the chat surfaces, `bot.advisor.paths` for career paths); an entry
    written in one language only is used as is.
    """
    entry = table[key]
    text = entry.get(language) or entry.get("en") or next(iter(entry.values()))
    return text.format(**values)


def examples_block(language: str) -> str:
    lines = [say("try_asking", language)]
    lines += [f"• {q}" for q in EXAMPLES.get(language, EXAMPLES["en"])]
    return "\n".join(lines)


def help_text(language: str) -> str:
    return say("help", language) + "\n" + examples_block(language)
