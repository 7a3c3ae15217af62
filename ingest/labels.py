"""Label every statement with what it is about: its roles and its aspects.

Answering then matches what is asked (a role, an aspect such as pay or skills) against what each
statement says, instead of counting shared words. The labels come from the glossary (data) and
the document's own structure: a statement is read under its heading and its list's lead-in
("필수 기술:" makes each item a skill; a section named after a role makes its statements about
that role unless a statement names its own subject).
"""

from __future__ import annotations

import re

from core.glossary import Glossary
from core.index import Chunk, Unit
from core.korean import Tokenizer

#: A role named as the subject at the start of a statement ("감독자는 ...", "CCO는 ...").
_SUBJECT = re.compile(r"^(.{1,30}?)(?:은|는|이|가)\s")


def _roles(glossary: Glossary, text: str, tok: Tokenizer) -> list[str]:
    """The role a heading or a subject names: the first one ("팀 리더/매니저/감독" is about
    team leaders, whatever else "매니저" can mean)."""
    named = [t.name for t in glossary.matches(text, tok.forms, documents=True) if t.kind == "role"]
    return named[:1]


def _aspects(glossary: Glossary, text: str, tok: Tokenizer) -> list[str]:
    return [t.name for t in glossary.matches(text, tok.forms, documents=True) if t.kind == "topic"]


def _subject(glossary: Glossary, unit: Unit, tok: Tokenizer) -> list[str]:
    """The roles a statement names as its own subject: an item's label ("고객 계정 관리자: ...")
    or the noun phrase it opens with."""
    head, colon, rest = unit.text.partition(":")
    if colon and len(head) <= 30 and len(rest.strip()) >= 10:
        return _roles(glossary, head, tok)
    m = _SUBJECT.match(unit.text)
    return _roles(glossary, m.group(1), tok) if m else []


def label_chunks(chunks: list[Chunk], glossary: Glossary, tok: Tokenizer) -> None:
    """Set `roles` and `aspects` on every unit of every chunk (in place)."""
    for chunk in chunks:
        leaf = chunk.section.split(" > ")[-1]
        lead = next((u.text for u in chunk.units if u.kind == "lead"), "")
        section_roles = _roles(glossary, leaf, tok)
        # A heading that asks ("귀하가 원격 근무에 적합하다고 생각하십니까?") does not say what
        # the statements under it are about.
        heading = "" if leaf.rstrip().endswith("?") else leaf
        inherited = set(_aspects(glossary, f"{heading}\n{lead}", tok))
        # A table row is about the role its first cell names ("고객 서비스 담당자 | 걸려오는 ...").
        row_roles = (
            _roles(glossary, chunk.units[0].text, tok)
            if chunk.kind == "row" and chunk.units
            else []
        )
        for unit in chunk.units:
            text = f"{unit.label}: {unit.text}" if unit.label else unit.text
            unit.roles = _subject(glossary, unit, tok) or row_roles or section_roles
            named = glossary.matches(text, tok.forms, documents=True)
            unit.aspects = sorted(inherited | {t.name for t in named if t.kind == "topic"})
            unit.mentions = sorted({t.name for t in named if t.kind == "role"})
