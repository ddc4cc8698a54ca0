"""docs/security-model.md defines every rule code the repository uses, in complete rows, and
nothing in the repository points at files outside it (issue 14, item 3)."""

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import STACKS

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "docs" / "security-model.md"

CODE = re.compile(r"\b(?:(?:ML|ST|KV|ACR|AI|RB|ID|GH|ADO|PU|SC|EV)-\d{1,2}|T-\d{1,2}|P\d{1,2})\b")
"""A rule code: a family and a number (`ML-1`, `ACR-3`, `T-05`), or a pitfall (`P3`, no hyphen).
At most two digits, so ticket numbers such as `ML-1234` are not codes."""

COLUMNS = ["ID", "Rule", "Why", "Enforced in", "Tests"]
"""The columns of every rule table in the model, in this order."""

TEST_REFERENCE = re.compile(r"\b(test_\w+)::(test_\w+)\b")

OUTSIDE = ("../" + "shared", "shared/" + "reference", "/work" + "/")
"""Paths that lead out of the repository (built by concatenation so this file has none)."""

_SKIPPED_DIRS = {".git", "venv", "__pycache__", ".pytest_cache", ".ruff_cache", "node_modules"}


def repository_files() -> list[Path]:
    """The repository's files: tracked and not-ignored new ones from git, or a walk of the tree
    (minus caches and the venv) when there is no git checkout."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode()
        paths = [ROOT / name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        paths = [
            path for path in ROOT.rglob("*") if not _SKIPPED_DIRS.intersection(path.relative_to(ROOT).parts)
        ]
    return sorted(path for path in paths if path.is_file() and not path.is_symlink())


def text_files() -> dict[Path, str]:
    """Every repository file that is UTF-8 text, by path."""
    texts = {}
    for path in repository_files():
        try:
            texts[path] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary
    return texts


def rule_tables(markdown: str) -> list[list[list[str]]]:
    """The tables whose first header cell is `ID`: each a list of rows (header first), each row a
    list of stripped cells. Pipes inside backticks are not cell separators."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] | None = None
    for line in markdown.splitlines():
        if not line.startswith("|"):
            current = None
            continue
        cells = [cell.strip() for cell in re.split(r"\|(?=(?:[^`]*`[^`]*`)*[^`]*$)", line.strip())[1:-1]]
        if current is None:
            current = []
            if cells and cells[0] == "ID":
                tables.append(current)
        if not all(re.fullmatch(r":?-{3,}:?", cell) for cell in cells):
            current.append(cells)
    return tables


def defined_codes(markdown: str) -> set[str]:
    return {row[0] for table in rule_tables(markdown) for row in table[1:] if row}


def undefined_uses(texts: dict[Path, str], defined: set[str]) -> list[str]:
    """`path:line: code` for each code used but not defined."""
    return [
        f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{number}: {code}"
        for path, text in texts.items()
        for number, line in enumerate(text.splitlines(), 1)
        for code in CODE.findall(line)
        if code not in defined
    ]


@pytest.fixture(scope="module")
def model() -> str:
    return MODEL.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def texts() -> dict[Path, str]:
    return text_files()


# --- the code pattern ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, codes",
    [
        ("ML-1, ST-3 and GH-14 (ACR-9, T-05)", ["ML-1", "ST-3", "GH-14", "ACR-9", "T-05"]),
        ("pitfall P3; P12: numeric ids; (P1)", ["P3", "P12", "P1"]),
        ("RB-1..RB-7, T-20..T-23", ["RB-1", "RB-7", "T-20", "T-23"]),
        ("TLS1_2, T-SQL, Standard_P1, P1v2, SKU P2V3", []),
        ("ticket ML-1234, suffix AB-12, IPv4 10.0.0.0/24, sha 8e3af657-a8ff", []),
        ("XML-1, ID-1x, GH-9b, aP3", []),
        ("EV-2 and EV-14 (estate), REV-1, EV-123", ["EV-2", "EV-14"]),
    ],
)
def test_code_pattern_matches_rule_codes_only(text, codes):
    assert CODE.findall(text) == codes


# --- every code used is defined ------------------------------------------------------------------


def test_scan_covers_the_repository(texts):
    scanned = {path.relative_to(ROOT).as_posix() for path in texts}
    for expected in (
        "README.md",
        "__main__.py",
        "mlinfra/config/stage_config.py",
        "mlinfra/lint/workflows.py",
    ):
        assert expected in scanned
    assert ".github/workflows/pull-request.yml" in scanned
    assert STACKS and all(f"Pulumi.{stack}.yaml" in scanned for stack in STACKS)
    assert not [name for name in scanned if name.startswith(("venv/", ".git/"))]


def test_every_rule_code_used_in_the_repository_is_defined(model, texts):
    defined = defined_codes(model)
    uses = undefined_uses({path: text for path, text in texts.items() if path != MODEL}, defined)
    assert uses == [], "rule codes used but not defined in docs/security-model.md:\n" + "\n".join(uses)


def test_every_estate_rule_the_verifier_reports_is_defined(model):
    """The estate verifier's rule ids (mlinfra/estate/findings.py RULES, the ids its findings carry)
    are exactly section O's rows: each finding's id is defined, and no row is left without a rule."""
    from mlinfra.estate.findings import RULES

    defined = {code for code in defined_codes(model) if code.startswith("EV-")}
    assert sorted(RULES) == sorted(defined)


def test_fails_when_a_code_is_used_but_not_defined(model, tmp_path):
    stray = tmp_path / "stray.py"
    unknown = "GH-" + "99"  # spelt apart so this file itself stays clean
    texts = {stray: f"x = 1  # {unknown}: not a rule\n# ML-1 is fine, and so is P3\n"}
    assert undefined_uses(texts, defined_codes(model)) == [f"{stray}:1: {unknown}"]


def test_every_code_the_doc_cites_is_defined_in_it(model):
    defined = defined_codes(model)
    assert undefined_uses({MODEL: model}, defined) == []


# --- the rows are complete -----------------------------------------------------------------------


def test_model_has_a_rule_table_per_area(model):
    tables = rule_tables(model)
    assert len(tables) >= 14  # A-L, N and O: ML, ST, KV, ACR, AI, RB, ID, GH, ADO, PU, T, P, SC, EV
    families = {re.sub(r"-?\d+$", "", row[0]) for table in tables for row in table[1:]}
    assert families == {"ML", "ST", "KV", "ACR", "AI", "RB", "ID", "GH", "ADO", "PU", "T", "P", "SC", "EV"}


def test_every_rule_table_has_the_required_columns(model):
    for table in rule_tables(model):
        assert table[0] == COLUMNS, f"rule table header {table[0]}, expected {COLUMNS}"


def test_every_rule_row_fills_every_column(model):
    problems = []
    for table in rule_tables(model):
        for row in table[1:]:
            if len(row) != len(COLUMNS):
                problems.append(f"{row[:1]}: {len(row)} cells, expected {len(COLUMNS)}")
            elif not all(row):
                empty = [COLUMNS[i] for i, cell in enumerate(row) if not cell]
                problems.append(f"{row[0]}: empty {', '.join(empty)}")
            elif not CODE.fullmatch(row[0]):
                problems.append(f"{row[0]}: not a rule code")
    assert problems == []


def test_every_code_is_defined_once(model):
    ids = [row[0] for table in rule_tables(model) for row in table[1:]]
    assert sorted(ids) == sorted(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def test_every_test_the_model_names_exists(model):
    missing = []
    for table in rule_tables(model):
        for row in table[1:]:
            for module, name in TEST_REFERENCE.findall(row[-1]):
                path = ROOT / "tests" / f"{module}.py"
                if not path.is_file() or not re.search(rf"^def {name}\(", path.read_text(), re.MULTILINE):
                    missing.append(f"{row[0]}: {module}::{name}")
    assert missing == []


def test_a_row_names_tests_or_says_none(model):
    rows = [row for table in rule_tables(model) for row in table[1:]]
    vague = [row[0] for row in rows if row[-1] != "none" and not TEST_REFERENCE.search(row[-1])]
    assert vague == []


def test_fails_when_a_row_lacks_a_column():
    markdown = (
        "| ID | Rule | Why | Enforced in | Tests |\n|---|---|---|---|---|\n| ML-1 | Private. | NS-2 | |\n"
    )
    (row,) = rule_tables(markdown)[0][1:]
    assert len(row) == 4 and row[-1] == ""


def test_pipes_in_backticks_do_not_split_cells():
    markdown = "| ID | Rule | Why | Enforced in | Tests |\n|---|---|---|---|---|\n| T-07 | no `a|b` | w | e | none |\n"
    assert rule_tables(markdown)[0][1] == ["T-07", "no `a|b`", "w", "e", "none"]


# --- nothing points outside the repository -------------------------------------------------------


def test_nothing_points_at_files_outside_the_repository(texts):
    found = [
        f"{path.relative_to(ROOT)}:{number}: {needle}"
        for path, text in texts.items()
        for number, line in enumerate(text.splitlines(), 1)
        for needle in OUTSIDE
        if needle in line
    ]
    assert found == []


def test_every_file_the_model_names_exists():
    """Where a rule is enforced is named by path (`mlinfra/config/rules/consistency.py`,
    `policy/mlinfra_policy/`); after a move or a split each must still be there, or the model no
    longer matches the code. Glob patterns (`mlinfra/settings/*_settings.py`) must match a file."""
    text = (ROOT / "docs" / "security-model.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:mlinfra|policy|bootstrap|tests|templates|\.github)/[\w./*-]*)`", text))
    missing = sorted(path for path in named if not any(ROOT.glob(path.rstrip("/"))))
    assert named and missing == []
