"""Declaration files: YAML or JSON in the shape of `Declaration.as_dict()`, checked before filing.

A team runs `manage.py check_declaration` in its own CI on the file it will file later; the API can use
`parse_declaration_text` for an uploaded body. Malformed input raises `DeclarationInvalid` with every
problem keyed by field path ("" for the file as a whole), exactly as `parse_declaration` does.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, TextIO

import yaml

from features.declaration import Declaration, DeclarationInvalid, parse_declaration
from features.validation import refuse_secrets
from governance.policy.context import PolicyContext
from governance.policy.engine import evaluate, has_critical
from governance.policy.rules import PolicyFinding

STDIN = "-"
MAX_CHARS = 1_000_000  # a declaration is a page of text; refuse anything that is clearly not one
YAML_SUFFIXES = {".yaml", ".yml"}
JSON_SUFFIXES = {".json"}


class ExitCode:
    """`check_declaration`'s exit status, for CI."""

    PASSED = 0
    CRITICAL = 1
    MALFORMED = 2


def parse_declaration_text(text: str, *, syntax: str | None = None) -> Declaration:
    """Parse YAML or JSON text (`syntax` "yaml" or "json", else sniffed) into a `Declaration`."""
    if len(text) > MAX_CHARS:
        raise DeclarationInvalid({"": [f"The file is over {MAX_CHARS:,} characters; is it a declaration?"]})
    if syntax is None:
        syntax = "json" if text.lstrip().startswith(("{", "[")) else "yaml"
    try:
        raw = json.loads(text) if syntax == "json" else yaml.safe_load(text)
    except json.JSONDecodeError as error:
        raise DeclarationInvalid(
            {"": [f"Not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."]}
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or "the file cannot be read"
        raise DeclarationInvalid({"": [f"Not valid YAML: {problem}{where}."]}) from None
    if raw is None:
        raise DeclarationInvalid({"": ["The file is empty; it should hold one declaration."]})
    return parse_declaration(raw)


def load_declaration_file(source: str | PathLike[str], *, stdin: TextIO | None = None) -> Declaration:
    """Read a declaration file ("-" reads `stdin`); the extension picks YAML or JSON, else it is sniffed."""
    if str(source) == STDIN:
        return parse_declaration_text((stdin or sys.stdin).read())
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DeclarationInvalid({"": ["The file is not UTF-8 text."]}) from None
    except OSError as error:
        raise DeclarationInvalid({"": [f"Cannot read the file: {error.strerror or error}."]}) from None
    suffix = path.suffix.lower()
    syntax = "yaml" if suffix in YAML_SUFFIXES else "json" if suffix in JSON_SUFFIXES else None
    return parse_declaration_text(text, syntax=syntax)


@dataclass(frozen=True)
class FileReport:
    """The outcome of checking one file: its parse errors, or the policy findings on it."""

    source: str
    errors: dict[str, list[str]] = field(default_factory=dict)
    findings: tuple[PolicyFinding, ...] = ()

    @property
    def malformed(self) -> bool:
        return bool(self.errors)

    @property
    def critical(self) -> bool:
        return has_critical(self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.source,
            "valid": not self.malformed,
            "errors": self.errors,
            "critical": self.critical,
            "findings": [finding.as_dict() for finding in self.findings],
        }


def check_files(sources: Iterable[str], context: PolicyContext, *, stdin: TextIO | None = None) -> list[FileReport]:
    """Parse and evaluate each file; one malformed file does not stop the others."""
    reports = []
    for source in sources:
        try:
            declaration = load_declaration_file(source, stdin=stdin)
            refuse_secrets(declaration)  # as saving would: a file holding a secret is not checked further
        except DeclarationInvalid as invalid:
            reports.append(FileReport(source=source, errors=invalid.errors))
        else:
            reports.append(FileReport(source=source, findings=tuple(evaluate(declaration, context))))
    return reports


def exit_code(reports: Iterable[FileReport]) -> int:
    """2 if any file is malformed, else 1 if any has a critical finding, else 0."""
    reports = list(reports)
    if any(report.malformed for report in reports):
        return ExitCode.MALFORMED
    if any(report.critical for report in reports):
        return ExitCode.CRITICAL
    return ExitCode.PASSED
