"""Dependencies point one way (README, "Where things live"); this test is the rule, not a wiki page.

- the foundation (`governance.accounts`, `governance.audit`, `governance.policy`) never reaches into the
  registry's storage or behaviour; it may use the registry's pure vocabulary (choices, declaration,
  validation, secrets: plain functions and data, no models) — policy's rules judge declarations, and
  accounts refuses secret-shaped token names;
- the registry (`features`) never imports the workflow apps built on top of it.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PURE_FEATURES = {"features.choices", "features.declaration", "features.validation", "features.secrets"}
WORKFLOW_APPS = ("governance.reviews", "governance.drift", "governance.evidence")


def imported_modules(source: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def violations(package: str, source: str) -> list[str]:
    """The imports in `source` (a module of `package`) that break the direction of dependencies."""
    bad = []
    for module in imported_modules(source):
        if package == "features" and module.startswith(WORKFLOW_APPS):
            bad.append(module)
        foundation = package in {"governance.accounts", "governance.audit", "governance.policy"}
        if foundation and module.startswith("features") and module not in PURE_FEATURES:
            bad.append(module)
    return bad


@pytest.mark.parametrize(
    ("package", "line", "allowed"),
    [
        ("features", "from governance.audit.chain import record", True),
        ("features", "from governance.reviews.services import review_decide", False),
        ("features", "import governance.drift.ingest", False),
        ("governance.policy", "from features.declaration import Declaration", True),
        ("governance.policy", "from features.models import Signal", False),
        ("governance.audit", "from features.models import Feature", False),
        ("governance.accounts", "from features.secrets import secret_kind", True),
        ("governance.reviews", "from features.services import registration_record_outcome", True),
    ],
)
def test_the_layering_check_itself(package, line, allowed):
    assert (violations(package, line) == []) is allowed


def modules_of(package: str):
    folder = ROOT.joinpath(*package.split("."))
    return [path for path in folder.rglob("*.py") if "migrations" not in path.parts]


@pytest.mark.parametrize("package", ["features", "governance.accounts", "governance.audit", "governance.policy"])
def test_dependencies_point_one_way(package):
    problems = {
        str(path.relative_to(ROOT)): bad
        for path in modules_of(package)
        if (bad := violations(package, path.read_text()))
    }
    assert problems == {}
