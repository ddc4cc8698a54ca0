"""The README's config reference is the generated one, and it documents every key."""

from components.config import StageSettings
from planner.config_reference import BEGIN, END, reference_table
from tests.conftest import PROJECT_DIR


def test_readme_holds_the_current_generated_table():
    readme = (PROJECT_DIR / "README.md").read_text()
    start, end = readme.index(BEGIN), readme.index(END) + len(END)
    assert readme[start:end] == reference_table(), "run `venv/bin/python -m planner.config_reference --write`"


def test_every_top_level_key_is_documented_with_a_meaning():
    table = reference_table()
    for name, field in StageSettings.model_fields.items():
        assert f"| `mlinfra:{field.alias}` |" in table
        assert field.description, f"{name} has no docstring"
