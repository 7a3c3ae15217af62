"""Finding, decoding and normalising the documents admins put in `knowledge/`."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from core.files import inside, yaml_problem

logger = logging.getLogger(__name__)

DOCUMENT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm"})
#: Data files that live next to the documents but are not documents themselves.
DATA_FILES = frozenset({"glossary.yaml", "roles.yaml", "README.md"})
_SIDECAR = ".meta.yaml"


class Document(BaseModel):
    """A decoded document with its metadata."""

    source: str  # path relative to the knowledge directory, with forward slashes
    text: str
    title: str
    language: str
    published: str | None
    format: str  # "txt", "md" or "html"
    encoding: str
    sha: str  # hash of the raw bytes plus metadata: what decides "changed"


class Skipped(BaseModel):
    source: str
    reason: str


#: Why a link that leads out of the knowledge directory is not read.
OUTSIDE = "a link to a file outside the knowledge directory; not read"


class UnreadableFile(ValueError):
    """A file that cannot be used; the message says why, for the admin."""


def discover(knowledge_dir: Path) -> tuple[list[Path], list[Skipped]]:
    """Candidate document files under the knowledge directory, and the files we will not read."""
    files: list[Path] = []
    skipped: list[Skipped] = []
    for path in sorted(knowledge_dir.rglob("*")):
        rel = path.relative_to(knowledge_dir).as_posix()
        if any(part.startswith(".") for part in path.relative_to(knowledge_dir).parts):
            continue
        if not path.is_file() or path.name in DATA_FILES or path.name.endswith(_SIDECAR):
            continue
        if path.suffix.lower() not in DOCUMENT_SUFFIXES:
            skipped.append(Skipped(source=rel, reason=f"unsupported file type '{path.suffix}'"))
            continue
        if not inside(path, knowledge_dir):
            skipped.append(Skipped(source=rel, reason=OUTSIDE))
            continue
        files.append(path)
    return files, skipped


def decode(raw: bytes) -> tuple[str, str]:
    """Decode bytes as UTF-8 (with or without BOM) or CP949/EUC-KR; return (text, encoding)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    if b"\x00" in raw[:8192]:
        raise UnreadableFile("binary content (NUL bytes)")
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        # CP949 is a superset of EUC-KR, so it reads both.
        return raw.decode("cp949"), "cp949"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is None or best.encoding is None:
        raise UnreadableFile("unreadable: not UTF-8, CP949/EUC-KR or any encoding we recognise")
    return str(best), best.encoding


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def looks_binary(text: str) -> bool:
    """Decoded text that is mostly control characters or replacement marks."""
    if not text:
        return False
    bad = len(_CONTROL.findall(text)) + text.count("\ufffd")
    return bad / len(text) > 0.02


class _HtmlText(HTMLParser):
    """HTML to the line-oriented text the structure parser reads (headings, lists, tables)."""

    _SKIP = frozenset({"script", "style", "nav", "header", "footer", "noscript", "svg", "form"})
    _BLOCK = frozenset({"p", "div", "section", "article", "br", "blockquote", "main"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._buf: list[str] = []
        self._skip = 0
        self._prefix = ""
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._rows_in_table = 0
        self.title = ""
        self._in_title = False

    def _flush(self) -> None:
        text = " ".join("".join(self._buf).split())
        if text:
            self.lines.append(self._prefix + text)
        self._buf = []
        self._prefix = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self._flush()
            self._prefix = "#" * int(tag[1]) + " "
        elif tag == "li":
            self._flush()
            self._prefix = "- "
        elif tag == "table":
            self._flush()
            self._rows_in_table = 0
        elif tag == "tr":
            self._row = []
        elif tag in {"td", "th"}:
            self._cell = []
        elif tag in self._BLOCK:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag == "title":
            self._in_title = False
        elif tag in {"td", "th"} and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if any(self._row):
                self.lines.append(" | ".join(self._row) + " |")
                self._rows_in_table += 1
                if self._rows_in_table == 1:
                    self.lines.append("|".join("---" for _ in self._row) + "|")
            self._row = None
        elif tag in {"h1", "h2", "h3", "h4", "h5", "h6", "li"} or tag in self._BLOCK:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif self._skip:
            return
        elif self._cell is not None:
            self._cell.append(data)
        else:
            self._buf.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def html_to_text(html: str) -> tuple[str, str]:
    """Return (text, <title>) of an HTML page."""
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    return "\n".join(parser.lines), " ".join(parser.title.split())


_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
_MD_HEADING = re.compile(r"^(#{1,6})\s+")


def _front_matter(text: str) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        data = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise UnreadableFile(f"its front matter is {yaml_problem(exc)}") from exc
    if not isinstance(data, dict):
        raise UnreadableFile("front matter must be a mapping")
    return data, text[match.end() :]


def _sidecar(path: Path, knowledge_dir: Path) -> dict[str, Any]:
    side = path.with_name(path.stem + _SIDECAR)
    if not side.exists():
        return {}
    if not inside(side, knowledge_dir):
        raise UnreadableFile(f"its metadata file {side.name} is {OUTSIDE}")
    try:
        data = yaml.safe_load(side.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UnreadableFile(f"its metadata file {side.name} is {yaml_problem(exc)}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableFile(f"its metadata file {side.name} cannot be read as UTF-8") from exc
    if not isinstance(data, dict):
        raise UnreadableFile(f"its metadata file {side.name} must be a mapping")
    return data


def _hangul_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum("\uac00" <= c <= "\ud7a3" for c in letters) / len(letters)


def detect_language(text: str) -> str:
    return "ko" if _hangul_share(text) >= 0.3 else "en"


def load_document(path: Path, knowledge_dir: Path, max_bytes: int) -> Document:
    """Read one file into a Document, or raise UnreadableFile saying why."""
    rel = path.relative_to(knowledge_dir).as_posix()
    if not inside(path, knowledge_dir):  # the link changed since it was found
        raise UnreadableFile(OUTSIDE)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise UnreadableFile(f"too large ({size:,} bytes; the limit is {max_bytes:,})")
        raw = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(f"cannot be read: {exc.strerror or exc}") from exc
    text, encoding = decode(raw)
    if looks_binary(text):
        raise UnreadableFile("binary content, not text")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    meta = _sidecar(path, knowledge_dir)
    suffix = path.suffix.lower()
    fmt = "txt"
    html_title = ""
    if suffix in {".md", ".markdown"}:
        fmt = "md"
        front, text = _front_matter(text)
        meta = {**front, **meta}
    elif suffix in {".html", ".htm"}:
        fmt = "html"
        text, html_title = html_to_text(text)
    if not text.strip():
        raise UnreadableFile("empty: no text in it")
    first_line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    title = str(
        meta.get("title") or html_title or _MD_HEADING.sub("", first_line)[:120] or path.stem
    )
    published = meta.get("published")
    if isinstance(published, date):
        published = published.isoformat()
    language = str(meta.get("language") or detect_language(text))
    digest = hashlib.sha256(raw)
    digest.update(repr(sorted(meta.items())).encode())
    return Document(
        source=rel,
        text=text,
        title=title,
        language=language,
        published=str(published) if published else None,
        format=fmt,
        encoding=encoding,
        sha=digest.hexdigest(),
    )
