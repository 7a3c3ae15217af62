"""The role catalogue: the call-center ladder, its side tracks, and what each role asks of you.

It is data (`knowledge/roles.yaml`), edited by admins like the documents, validated and
published with the index by ingest, and used by the advisor to answer career-path questions.
Every statement in it names the document section it comes from (`file#heading`).
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from core.files import inside, yaml_problem
from core.published import PublishedData

ROLES_FILE = "roles.yaml"
_LINE = "__line__"


class RolesError(ValueError):
    """The catalogue is invalid; the message names the file and line."""


class Source(BaseModel):
    """A document section: the file under knowledge/ and the heading as the document has it."""

    doc: str
    section: str

    @classmethod
    def parse(cls, text: str) -> Source:
        doc, sep, section = text.partition("#")
        if not sep or not doc.strip() or not section.strip():
            raise ValueError(f"source '{text}' must look like 'file.txt#Section heading'")
        return cls(doc=doc.strip(), section=section.strip())

    def __str__(self) -> str:
        return f"{self.doc}#{self.section}"


class Item(BaseModel):
    """One statement about a role (a duty, a skill, a pay note), in both languages."""

    ko: str
    en: str
    source: Source
    line: int = 0

    def text(self, language: str) -> str:
        return self.ko if language == "ko" else self.en


class Role(BaseModel):
    id: str
    ko: str
    en: str
    level: int
    pay_rank: int | None = None  # place on the documents' highest-paid list, 1 = highest
    track: Literal["ladder", "side"] = "ladder"
    reports_to: str | None = None
    leads_to: list[str] = Field(default_factory=list)
    source: Source
    duties: list[Item] = Field(default_factory=list)
    skills: list[Item] = Field(default_factory=list)
    pay: list[Item] = Field(default_factory=list)
    line: int = 0

    def name(self, language: str) -> str:
        return self.ko if language == "ko" else self.en


class Catalogue(PublishedData):
    roles: list[Role] = Field(default_factory=list)

    def get(self, role_id: str) -> Role | None:
        return next((r for r in self.roles if r.id == role_id), None)

    def path(self, start: str, goal: str) -> list[Role] | None:
        """The shortest way up from `start` to `goal` along `leads_to`, or None."""
        if self.get(start) is None or self.get(goal) is None:
            return None
        came: dict[str, str | None] = {start: None}
        todo = deque([start])
        while todo:
            here = todo.popleft()
            if here == goal:
                steps: list[Role] = []
                at: str | None = here
                while at is not None:
                    role = self.get(at)
                    assert role is not None
                    steps.append(role)
                    at = came[at]
                return steps[::-1]
            for nxt in self.get(here).leads_to if self.get(here) else []:  # type: ignore[union-attr]
                if nxt not in came:
                    came[nxt] = here
                    todo.append(nxt)
        return None

    def ladder(self) -> list[Role]:
        return sorted((r for r in self.roles if r.track == "ladder"), key=lambda r: r.level)


class _LineLoader(yaml.SafeLoader):
    """A YAML loader that remembers the line of every mapping (as `__line__`)."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping: dict[str, Any] = {
        str(k): v for k, v in loader.construct_mapping(node, deep=True).items()
    }
    mapping[_LINE] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


def document_sections(knowledge_dir: Path) -> dict[str, set[str]]:
    """Every non-empty line of every document, stripped: a heading must be one of them."""
    sections: dict[str, set[str]] = {}
    for path in sorted(knowledge_dir.iterdir()):
        if path.suffix in {".txt", ".md"} and path.is_file():
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            sections[path.name] = {line.strip().lstrip("#").strip() for line in lines}
    return sections


def load_roles(knowledge_dir: Path) -> Catalogue:
    """Read and validate `roles.yaml`; an absent file is an empty catalogue."""
    path = knowledge_dir / ROLES_FILE
    if not path.exists():
        return Catalogue()
    name = path.name
    if not inside(path, knowledge_dir):
        raise RolesError(f"{name}: a link to a file outside the knowledge directory")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader) or {}
    except yaml.YAMLError as exc:
        raise RolesError(f"{name}: {yaml_problem(exc)}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise RolesError(f"{name}: cannot be read as UTF-8") from exc
    if not isinstance(data, dict) or not isinstance(data.get("roles", []), list):
        raise RolesError(f"{name}: expected a mapping with a 'roles' list")
    sections = document_sections(knowledge_dir)
    roles: list[Role] = []
    for entry in data.get("roles", []):
        if not isinstance(entry, dict):
            raise RolesError(f"{name}: every role must be a mapping, got {entry!r}")
        roles.append(_role(name, entry, sections))
    by_id: dict[str, Role] = {}
    for role in roles:
        if role.id in by_id:
            raise RolesError(f"{name}: line {role.line}: the id '{role.id}' is used twice")
        by_id[role.id] = role
    for role in roles:
        for link in [role.reports_to, *role.leads_to]:
            if link is not None and link not in by_id:
                raise RolesError(
                    f"{name}: line {role.line} ({role.id}): unknown role '{link}' in a link"
                )
    cycle = _cycle(by_id)
    if cycle:
        first = by_id[cycle[0]]
        raise RolesError(
            f"{name}: line {first.line} ({first.id}): the ladder has a cycle: " + " -> ".join(cycle)
        )
    return Catalogue(roles=roles)


def _role(name: str, entry: dict[str, Any], sections: dict[str, set[str]]) -> Role:
    line = int(entry.pop(_LINE, 0))
    label = entry.get("id", "?")
    where = f"{name}: line {line} ({label})"
    if "source" not in entry:
        raise RolesError(f"{where}: missing 'source'")
    raw = dict(entry)
    try:
        raw["source"] = _source(entry["source"], sections, where)
        for kind in ("duties", "skills", "pay"):
            items = []
            for item in entry.get(kind) or []:
                if not isinstance(item, dict):
                    raise RolesError(f"{where}: {kind}: every item must be a mapping")
                item_line = int(item.pop(_LINE, line))
                item_where = f"{name}: line {item_line} ({label} {kind})"
                if "source" not in item:
                    raise RolesError(f"{item_where}: missing 'source'")
                items.append(
                    item
                    | {"source": _source(item["source"], sections, item_where), "line": item_line}
                )
            raw[kind] = items
        return Role.model_validate(raw | {"line": line})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise RolesError(f"{where}: {loc}: {message}") from exc


def _source(value: Any, sections: dict[str, set[str]], where: str) -> Source:
    if not isinstance(value, str):
        raise RolesError(f"{where}: source must be 'file.txt#Section heading'")
    try:
        source = Source.parse(value)
    except ValueError as exc:
        raise RolesError(f"{where}: {exc}") from exc
    if source.doc not in sections:
        raise RolesError(f"{where}: source document '{source.doc}' is not in knowledge/")
    if source.section not in sections[source.doc]:
        raise RolesError(f"{where}: section '{source.section}' does not exist in {source.doc}")
    return source


def _cycle(by_id: dict[str, Role]) -> list[str]:
    """A cycle along `leads_to` or `reports_to`, as the ids going round it, or []."""
    for edges in (
        {r.id: r.leads_to for r in by_id.values()},
        {r.id: [r.reports_to] if r.reports_to else [] for r in by_id.values()},
    ):
        done: set[str] = set()
        for start in by_id:
            found = _walk(start, [], edges, done)
            if found:
                return found
    return []


def _walk(node: str, trail: list[str], edges: dict[str, list[str]], done: set[str]) -> list[str]:
    """Depth-first from `node`; returns the first cycle met (ids, first repeated at the end)."""
    if node in trail:
        return [*trail[trail.index(node) :], node]
    if node in done:
        return []
    for nxt in edges.get(node, []):
        found = _walk(nxt, [*trail, node], edges, done)
        if found:
            return found
    done.add(node)
    return []
