"""Career-path questions: read, answered from the catalogue with citations, in both languages;
the ladder picture; `career-bot path`."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from bot.advisor.advisor import Advisor
from bot.advisor.models import Question
from bot.advisor.paths import (
    hangul_font_path,
    picture_name,
    read_path_question,
    render_ladder,
)
from bot.cli import app
from core.roles import load_roles
from tests.conftest import KNOWLEDGE

LADDER_KO = ["팀 리더", "콜센터 매니저", "콜센터 책임자", "고객 서비스 디렉터"]


async def ask(advisor, text: str):
    return await advisor.ask(Question(text=text, conversation_id=f"t:{text}", platform="test"))


# -- reading the question ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "roles"),
    [
        ("상담원에서 매니저가 되려면?", "path", ["agent", "call center manager"]),
        (
            "How do I get from agent to customer service director?",
            "path",
            ["agent", "customer service director"],
        ),
        ("What comes after team leader?", "next", ["team leader"]),
        ("팀 리더 다음 단계는 뭐야?", "next", ["team leader"]),
        ("Which roles pay most?", "pay", []),
        ("콜센터에서 연봉 제일 많이 받는 직책은?", "pay", []),
        ("What skills do I need to move up from team leader?", "skills", ["team leader"]),
        ("팀 리더에서 승진하려면 어떤 기술이 필요해?", "skills", ["team leader"]),
        ("How do I become a CCO?", "path", ["agent", "chief customer officer"]),
        ("How do I get from agent to astronaut?", "unknown", ["agent"]),
    ],
)
async def test_path_questions_are_recognised(advisor, text, kind, roles) -> None:
    snap = await advisor.knowledge.current()
    found = read_path_question(text, snap, advisor.tokenizer.forms)
    assert found is not None
    assert found.kind == kind
    assert found.roles == roles


@pytest.mark.parametrize(
    "text",
    [
        "팀 리더는 무슨 일을 해?",
        "What skills does a call center agent need?",
        "Why do leadership roles pay the most in a call center?",
        "고소득 콜센터 직책 급여는 뭐에 따라 달라져?",
        "How do I become a commercial airline pilot?",
        "간호사가 되려면 어떤 자격증이 필요해요?",
    ],
)
async def test_other_questions_are_not_path_questions(advisor, text) -> None:
    snap = await advisor.knowledge.current()
    assert read_path_question(text, snap, advisor.tokenizer.forms) is None


# -- answers through the advisor -----------------------------------------------------------


async def test_korean_path_answer_is_step_by_step_with_skills_and_citations(advisor) -> None:
    answer = await ask(advisor, "상담원에서 고객 서비스 디렉터가 되려면?")
    assert answer.language == "ko"
    assert not answer.abstained
    assert answer.path == [
        "agent",
        "team leader",
        "call center manager",
        "head of call center",
        "customer service director",
    ]
    lines = answer.text.splitlines()
    assert lines[0] == "콜센터 상담원에서 고객 서비스 디렉터까지 가는 길은 4단계입니다."
    steps = [line for line in lines if line[:2] in {"1.", "2.", "3.", "4."}]
    assert [s.split("→ ")[1].split(" [")[0] for s in steps] == LADDER_KO
    skills = [line for line in lines if "키울 기술" in line]
    assert len(skills) == 4
    assert "협상" in skills[1]  # call center manager: 협상, 좋은 동기 부여 기술, ...
    # every statement carries a [n] that resolves to a citation of the right section
    markers = {c.marker: c for c in answer.citations}
    for line in lines[1:]:
        assert "[" in line, line
    assert [markers[n].section for n in sorted(markers)] == [
        "팀 리더/매니저/감독",
        "콜센터 매니저",
        "콜센터 책임자",
        "고객 서비스 디렉터",
    ]
    assert all(c.chunk_id for c in answer.citations)
    assert "협상" in markers[2].text  # the quoted snippet is the document's own text


async def test_english_path_answer(advisor) -> None:
    answer = await ask(advisor, "How do I get from agent to customer service director?")
    assert answer.language == "en"
    assert answer.text.startswith(
        "The path from Call center agent to Customer service director, step by step (4):"
    )
    assert "Skills to build: Negotiation" in answer.text
    assert len(answer.citations) == 4


async def test_what_comes_after_team_leader(advisor) -> None:
    answer = await ask(advisor, "What comes after team leader?")
    assert "Up the ladder: Call center manager [1]" in answer.text
    assert "Another track: Operations manager" in answer.text
    assert answer.path == ["team leader", "call center manager"]
    answer = await ask(advisor, "팀 리더 다음 단계는 뭐야?")
    assert "사다리 위: 콜센터 매니저 [1]" in answer.text
    assert "다른 길: 운영 관리자" in answer.text


async def test_skills_to_move_up(advisor) -> None:
    answer = await ask(advisor, "What skills do I need to move up from team leader?")
    assert answer.text.startswith("To move up from Team leader")
    assert "Negotiation, Motivating people, Strategy" in answer.text
    assert answer.citations[0].section == "콜센터 매니저"
    answer = await ask(advisor, "팀 리더에서 승진하려면 어떤 기술이 필요해?")
    assert "협상, 좋은 동기 부여 기술" in answer.text


async def test_which_roles_pay_most(advisor) -> None:
    answer = await ask(advisor, "Which roles pay most?")
    lines = answer.text.splitlines()
    assert lines[1].startswith("1. Chief customer officer (CCO) [1]")
    assert lines[5].startswith("5. Head of the call center")
    # The entry-level hourly figure is not a top role's pay: it is padding here.
    assert "$20" not in answer.text
    sections = {c.section for c in answer.citations}
    assert sections == {"콜센터 중 가장 높은 연봉을 받는 직책"}
    answer = await ask(advisor, "콜센터에서 연봉 제일 많이 받는 직책들 순서대로 알려줘")
    assert "1. 최고고객책임자(CCO)" in answer.text
    assert "시간당 20달러" not in answer.text
    # Named, the entry level's figure belongs: it is the other end of the ranking.
    answer = await ask(advisor, "상담원부터 연봉 제일 많이 받는 직책까지 순서대로 알려줘")
    assert "시간당 20달러" in answer.text


async def test_one_place_of_the_pay_ranking(advisor) -> None:
    """ "#4 highest paying" asks for one place: that role, not the ranking."""
    answer = await ask(advisor, "whats the #4 highest paying call center job")
    assert answer.text.startswith("According to the documents, the number 4 highest-paid")
    assert "Senior call center manager" in answer.text
    assert "Chief customer officer" not in answer.text
    answer = await ask(advisor, "연봉 높은 직책 중에 세 번째는 뭐야?")
    assert "고객 서비스 책임자" in answer.text
    assert "최고고객책임자" not in answer.text


async def test_top_of_the_ladder(advisor) -> None:
    answer = await ask(advisor, "What comes after chief customer officer?")
    assert "highest position" in answer.text


async def test_unknown_role_is_a_polite_reply_naming_the_known_roles(advisor) -> None:
    answer = await ask(advisor, "How do I get from agent to astronaut?")
    assert answer.abstained
    assert "astronaut" in answer.text
    assert "Team leader (supervisor)" in answer.text
    assert "Customer service director" in answer.text
    answer = await ask(advisor, "상담원에서 우주비행사가 되려면?")
    assert "'우주비행사'" in answer.text
    assert "고객 서비스 디렉터" in answer.text


async def test_no_path_says_so_and_names_the_next_roles(advisor) -> None:
    answer = await ask(advisor, "How do I get from team leader to trainer?")
    assert not answer.abstained
    assert "no way up from Team leader (supervisor) to Trainer" in answer.text
    assert "Call center manager" in answer.text  # where team leader does lead


async def test_ordinary_questions_are_answered_as_before(advisor) -> None:
    answer = await ask(advisor, "팀 리더는 무슨 일을 해?")
    assert answer.path == []
    assert answer.path_kind == ""
    assert "개인 및 팀 목표 설정" in answer.text
    answer = await ask(advisor, "How do I become a commercial airline pilot?")
    assert answer.abstained
    assert answer.kind == "out_of_scope"


# -- the picture ---------------------------------------------------------------------------


def _pixels(png: bytes) -> np.ndarray:
    from matplotlib.image import imread

    return imread(io.BytesIO(png), format="png")


def _text_image(text: str, font: Path | None) -> np.ndarray:
    """`text` drawn alone with the given font file (None: matplotlib's DejaVu Sans)."""
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    fig = Figure(figsize=(2, 0.6), dpi=100)
    props = FontProperties(fname=str(font)) if font else FontProperties(family="DejaVu Sans")
    fig.text(0.05, 0.3, text, fontproperties=props, fontsize=16)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return _pixels(buffer.getvalue())


def test_the_bundled_font_has_every_hangul_glyph_the_picture_uses() -> None:
    from matplotlib.ft2font import FT2Font

    font = FT2Font(str(hangul_font_path()))
    labels = "".join(r.ko for r in load_roles(KNOWLEDGE).roles) + "콜센터 경력 사다리 옆길"
    missing = {c for c in labels if not c.isspace() and font.get_char_index(ord(c)) == 0}
    assert not missing


def test_hangul_renders_as_glyphs_not_boxes() -> None:
    import warnings

    nanum = hangul_font_path()
    # Real glyphs: two different words look different and are not blank.
    a, b = _text_image("상담원", nanum), _text_image("매니저", nanum)
    assert (a < 0.5).sum() > 50
    assert not np.array_equal(a, b)
    # The check can fail: without Hangul glyphs both words become the same empty boxes.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tofu_a, tofu_b = _text_image("상담원", None), _text_image("매니저", None)
    assert np.array_equal(tofu_a, tofu_b)


def test_ladder_picture_is_a_png_with_the_path_highlighted() -> None:
    cat = load_roles(KNOWLEDGE)
    path = [r.id for r in cat.path("agent", "customer service director") or []]
    png = render_ladder(cat, path, "ko")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 30_000
    pixels = _pixels(png)
    height, width = pixels.shape[:2]
    assert width > 1000
    assert height > 700
    red = (pixels[..., 0] > 0.75) & (pixels[..., 1] < 0.3) & (pixels[..., 2] < 0.3)
    assert red.sum() > 2000  # the highlighted boxes and arrows
    plain = _pixels(render_ladder(cat, [], "ko"))
    red_plain = (plain[..., 0] > 0.75) & (plain[..., 1] < 0.3) & (plain[..., 2] < 0.3)
    assert red_plain.sum() < 100


def test_picture_name() -> None:
    from bot.advisor.models import Answer

    answer = Answer(text="", path=["agent", "team leader"], path_kind="path")
    assert picture_name(answer) == "path-agent-to-team-leader.png"
    assert picture_name(Answer(text="", path=["a"], path_kind="pay")) == "path-ladder.png"


# -- the command line ----------------------------------------------------------------------


def test_cli_path_prints_the_steps_and_writes_the_png(env, tmp_path: Path) -> None:
    png = tmp_path / "path.png"
    result = CliRunner().invoke(
        app, ["path", "상담원", "고객 서비스 디렉터", "--png", str(png), "--json"], env=env
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["path"][0] == "agent"
    assert data["path"][-1] == "customer service director"
    assert "키울 기술" in data["answer"]
    assert data["citations"][0]["section"] == "팀 리더/매니저/감독"
    assert data["png"] == str(png)
    assert png.read_bytes().startswith(b"\x89PNG")


def test_cli_path_in_english_without_png(env) -> None:
    result = CliRunner().invoke(app, ["path", "team leader", "CCO"], env=env)
    assert result.exit_code == 0, result.output
    assert "Team leader (supervisor) → Call center manager" in result.stdout
    assert "Sources" in result.stdout


def test_cli_path_unknown_role_exits_1(env, tmp_path: Path) -> None:
    png = tmp_path / "none.png"
    result = CliRunner().invoke(app, ["path", "agent", "astronaut", "--png", str(png)], env=env)
    assert result.exit_code == 1
    assert "astronaut" in result.stdout
    assert not png.exists()


async def test_the_ladder_itself_in_both_languages(advisor: Advisor) -> None:
    english = await advisor.ask(
        Question(text="List the roles you'd find in a modern call center hierarchy.")
    )
    lines = english.text.splitlines()
    assert lines[1].startswith("1. Call center agent (콜센터 상담원) [")
    assert lines[7].startswith("7. Chief customer officer (CCO) (최고고객책임자(CCO)) [")
    assert english.citations
    korean = await advisor.ask(Question(text="콜센터 직급 체계는 어떻게 돼?", conversation_id="k"))
    assert "2. 팀 리더 [" in korean.text
    assert "옆길:" in korean.text
