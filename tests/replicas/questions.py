"""Load questions written from the role catalogue: role names in question templates.

Each question is about one role, so a follow-up without a role ("그 직무에 필요한 기술은?")
can be checked against the document section the catalogue gives for that role.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from core.roles import Role, load_roles
from tests.conftest import KNOWLEDGE

#: Follow-ups that name no role: they are about the thread's role only if memory works.
FOLLOW_UPS = ("그 직무에 필요한 기술은?", "What skills does that job need?")

#: {name} is the role's Korean name with the topic particle it takes ("팀 리더는", "코치는").
KO_TEMPLATES = (
    "{topic} 어떤 일을 하나요?",
    "{name}의 주요 업무는 무엇인가요?",
    "{topic} 무슨 일을 해?",
    "{name}의 역할을 알려 주세요",
    "{name}의 책임은 무엇인가요?",
)
EN_TEMPLATES = (
    "What does a {en} do?",
    "What are the duties of a {en}?",
    "What is the role of a {en}?",
    "Tell me about the {en} job.",
    "What is a {en} responsible for?",
)


@dataclass(frozen=True)
class LoadQuestion:
    text: str
    role: str  # the catalogue id
    section: str  # the document section the catalogue cites for the role


def _topic(name: str) -> str:
    """The name with 은/는 as Korean grammar wants (by the last syllable before a bracket)."""
    last = re.sub(r"\(.*?\)\s*$", "", name).strip()[-1]
    batchim = "가" <= last <= "힣" and (ord(last) - 0xAC00) % 28 != 0
    return f"{name}{'은' if batchim else '는'}"


def _distinct_roles() -> list[Role]:
    """Roles whose catalogue section is theirs alone (not a list shared by several roles)."""
    roles = load_roles(KNOWLEDGE).roles
    shared = Counter(r.source.section for r in roles)
    return [r for r in roles if shared[r.source.section] == 1]


def career_questions(count: int) -> list[LoadQuestion]:
    """`count` questions cycling through roles and templates, Korean and English mixed."""
    roles = _distinct_roles()
    templates = [t for pair in zip(KO_TEMPLATES, EN_TEMPLATES, strict=True) for t in pair]
    out: list[LoadQuestion] = []
    for n in range(count):
        # Every (role, template) pair once before any repeats; neighbours differ in both.
        rounds, index = divmod(n, len(roles) * len(templates))
        role = roles[index % len(roles)]
        template = templates[(index % len(roles) + index // len(roles) + rounds) % len(templates)]
        text = template.format(topic=_topic(role.ko), name=role.ko, en=role.en.split(" (")[0])
        out.append(LoadQuestion(text, role.id, role.source.section))
    return out
