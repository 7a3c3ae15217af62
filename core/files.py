"""Reading files an admin put in `knowledge/`: only from inside it, errors that quote nothing.

A link may point anywhere on the machine, and a YAML parser's message quotes the lines around
a mistake (a password, a private note); both would end up in the index or in a channel.
"""

from __future__ import annotations

from pathlib import Path

import yaml


def inside(path: Path, root: Path) -> bool:
    """Does `path`, its links followed, lie inside `root`?"""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a link loop
        return False


def yaml_problem(exc: yaml.YAMLError) -> str:
    """Where and what the YAML mistake is, without the file's text: "line 2, column 7:
    expected ',' or ']'"."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or "not valid YAML"
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"not valid YAML ({where}{problem})"
