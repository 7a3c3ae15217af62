"""The role catalogue: the real one is complete and sourced; broken ones fail with the line."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from core.glossary import load_glossary
from core.roles import Catalogue, RolesError, load_roles
from tests.conftest import KNOWLEDGE

DOCS = ("call-center-highest-positions.txt", "working-in-a-call-center.txt")
HP = "call-center-highest-positions.txt"

GOOD = f"""\
roles:
  - id: agent
    ko: 콜센터 상담원
    en: Call center agent
    level: 1
    reports_to: team leader
    leads_to: [team leader]
    source: {HP}#콜센터 상담원
    skills:
      - {{ko: 경청 능력, en: Listening, source: {HP}#콜센터 상담원}}
  - id: team leader
    ko: 팀 리더
    en: Team leader
    level: 2
    leads_to: []
    source: {HP}#팀 리더/매니저/감독
"""


@pytest.fixture
def knowledge(tmp_path: Path) -> Callable[[str], Path]:
    """A knowledge/ folder with the real documents and the given roles.yaml."""

    def make(roles: str) -> Path:
        folder = tmp_path / "knowledge"
        folder.mkdir(exist_ok=True)
        for name in DOCS:
            shutil.copy(KNOWLEDGE / name, folder / name)
        (folder / "roles.yaml").write_text(roles, encoding="utf-8")
        return folder

    return make


def error_of(folder: Path) -> str:
    with pytest.raises(RolesError) as caught:
        load_roles(folder)
    return str(caught.value)


# -- the real catalogue --------------------------------------------------------------------


def test_real_catalogue_covers_the_ladder_and_side_tracks() -> None:
    cat = load_roles(KNOWLEDGE)
    ladder = [r.id for r in cat.ladder()]
    assert ladder == [
        "agent",
        "team leader",
        "call center manager",
        "head of call center",
        "customer service director",
        "vp of customer service",
        "chief customer officer",
    ]
    side = {r.id for r in cat.roles if r.track == "side"}
    for role in (
        "trainer",
        "coach",
        "quality assurance specialist",
        "resource planning manager",
        "operations manager",
        "technical support specialist",
        "sales representative",
        "account manager",
        "language specialist",
    ):
        assert role in side


def test_real_catalogue_reuses_the_glossary_role_names() -> None:
    roles = {t.name: t for t in load_glossary(KNOWLEDGE).terms if t.kind == "role"}
    for role in load_roles(KNOWLEDGE).roles:
        assert role.id in roles, role.id
        # the Korean name is one of the documents' words for it, as the glossary has them
        assert any(k in role.ko for k in roles[role.id].ko), role.id


def test_every_item_is_sourced_from_an_existing_section() -> None:
    cat = load_roles(KNOWLEDGE)
    for role in cat.roles:
        items = [*role.duties, *role.skills, *role.pay]
        for source in [role.source, *(i.source for i in items)]:
            text = (KNOWLEDGE / source.doc).read_text(encoding="utf-8")
            assert source.section in {line.strip() for line in text.splitlines()}
        for item in items:
            assert item.ko
            assert item.en


def test_documented_pay_notes_are_in_the_catalogue() -> None:
    cat = load_roles(KNOWLEDGE)
    agent = cat.get("agent")
    assert agent is not None
    assert "$20" in agent.pay[0].en
    assert agent.pay[0].source.section == "자주 묻는 질문"
    ranked = sorted((r for r in cat.roles if r.pay_rank), key=lambda r: r.pay_rank or 0)
    assert [r.id for r in ranked] == [
        "chief customer officer",
        "vp of customer service",
        "head of customer service",
        "senior call center manager",
        "head of call center",
    ]


def test_catalogue_round_trips_through_json() -> None:
    cat = load_roles(KNOWLEDGE)
    again = Catalogue.from_json(cat.to_json())
    assert again == cat
    assert again.sha == cat.sha


def test_missing_file_is_an_empty_catalogue(tmp_path: Path) -> None:
    assert load_roles(tmp_path).roles == []


# -- validation: every error names its line ------------------------------------------------


def test_good_catalogue_loads_with_lines(knowledge) -> None:
    cat = load_roles(knowledge(GOOD))
    assert [r.line for r in cat.roles] == [2, 11]
    assert cat.roles[0].skills[0].line == 10


def test_unknown_role_in_a_link_names_the_line(knowledge) -> None:
    broken = GOOD.replace("leads_to: [team leader]", "leads_to: [team leeder]")
    message = error_of(knowledge(broken))
    assert "line 2" in message
    assert "unknown role 'team leeder'" in message


def test_unknown_reports_to_names_the_line(knowledge) -> None:
    broken = GOOD.replace("    leads_to: []\n", "    leads_to: []\n    reports_to: boss\n")
    message = error_of(knowledge(broken))
    assert "line 11" in message
    assert "'boss'" in message


def test_cycle_names_the_line_and_the_roles(knowledge) -> None:
    broken = GOOD.replace("    leads_to: []\n", "    leads_to: [agent]\n")
    message = error_of(knowledge(broken))
    assert "cycle" in message
    assert "line 2" in message
    assert "agent -> team leader -> agent" in message


def test_missing_role_source_names_the_line(knowledge) -> None:
    broken = GOOD.replace(f"    source: {HP}#팀 리더/매니저/감독\n", "")
    message = error_of(knowledge(broken))
    assert "line 11" in message
    assert "missing 'source'" in message


def test_missing_item_source_names_the_item_line(knowledge) -> None:
    broken = GOOD.replace(
        f"{{ko: 경청 능력, en: Listening, source: {HP}#콜센터 상담원}}",
        "{ko: 경청 능력, en: Listening}",
    )
    message = error_of(knowledge(broken))
    assert "line 10" in message
    assert "skills" in message
    assert "missing 'source'" in message


def test_section_that_does_not_exist_names_the_line(knowledge) -> None:
    broken = GOOD.replace(f"source: {HP}#팀 리더/매니저/감독", f"source: {HP}#팀장의 하루")
    message = error_of(knowledge(broken))
    assert "line 11" in message
    assert "section '팀장의 하루' does not exist" in message


def test_unknown_document_names_the_line(knowledge) -> None:
    broken = GOOD.replace(
        f"{{ko: 경청 능력, en: Listening, source: {HP}#",
        "{ko: 경청 능력, en: Listening, source: nope.txt#",
    )
    message = error_of(knowledge(broken))
    assert "line 10" in message
    assert "'nope.txt'" in message


def test_duplicate_id_and_bad_field_name_the_line(knowledge) -> None:
    message = error_of(knowledge(GOOD.replace("id: team leader", "id: agent")))
    assert "line 11" in message
    assert "used twice" in message
    message = error_of(knowledge(GOOD.replace("level: 2", "level: high")))
    assert "line 11" in message
    assert "level" in message


def test_unreadable_yaml_is_an_error(knowledge) -> None:
    message = error_of(knowledge("roles: [unclosed"))
    assert re.search(r"^roles.yaml: not valid YAML \(line 1, column \d+", message)
    assert "unclosed" not in message  # the file's text is not quoted
    assert yaml  # the loader is PyYAML's, with line marks


# -- ingest: validated, published with the generation, part of the no-change check --------

SMALL_DOC = """콜센터 직무 안내

콜센터 상담원

상담원은 고객의 문의에 답합니다. 필요한 기술은 경청 능력입니다.

팀 리더/매니저/감독

팀 리더는 상담원 팀을 이끌고 성과를 관리합니다.
"""


@pytest.fixture
def corpus(tmp_path: Path, settings_for):
    folder = tmp_path / "small"
    folder.mkdir()
    (folder / HP).write_text(SMALL_DOC, encoding="utf-8")
    (folder / "roles.yaml").write_text(GOOD, encoding="utf-8")
    return settings_for(tmp_path / "data", knowledge_dir=folder)


def _published_roles(settings) -> Catalogue:
    from core.index import IndexStore

    store = IndexStore(settings)
    pointer = store.pointer()
    assert pointer is not None
    meta = store.collection(pointer.collection).metadata or {}
    return Catalogue.from_json(str(meta.get("roles", "")))


def test_ingest_publishes_the_catalogue_and_notices_edits(corpus) -> None:
    from ingest import is_stale, run_ingest

    first = run_ingest(corpus)
    assert [r.id for r in _published_roles(corpus).roles] == ["agent", "team leader"]
    assert not is_stale(corpus)
    assert not run_ingest(corpus).published  # nothing changed

    roles = corpus.knowledge_dir / "roles.yaml"
    roles.write_text(GOOD.replace("en: Team leader\n", "en: Team lead\n"), encoding="utf-8")
    assert is_stale(corpus)
    again = run_ingest(corpus)
    assert again.published
    assert again.generation == first.generation + 1
    assert again.embedded == 0  # only the catalogue changed: no document is re-embedded
    assert _published_roles(corpus).get("team leader").en == "Team lead"  # type: ignore[union-attr]


def test_invalid_catalogue_fails_the_ingest_naming_the_line(corpus) -> None:
    from ingest import IngestError, run_ingest

    roles = corpus.knowledge_dir / "roles.yaml"
    roles.write_text(GOOD.replace("leads_to: [team leader]", "leads_to: [ceo]"), encoding="utf-8")
    with pytest.raises(IngestError, match=r"roles.yaml: line 2 \(agent\): unknown role 'ceo'"):
        run_ingest(corpus)
