"""mlinfra/repository/generated_sections.py: one marker mechanism for every generated section of the docs."""

import pytest

from mlinfra.repository.generated_sections import replace_section, section

TEXT = "intro\n<!-- x:begin -->\nold\n<!-- x:end -->\noutro\n"


def test_a_section_is_replaced_whole_markers_included():
    block = "<!-- x:begin -->\nnew\n<!-- x:end -->"
    assert replace_section(TEXT, "<!-- x:begin -->", "<!-- x:end -->", block) == f"intro\n{block}\noutro\n"
    assert section(TEXT, "<!-- x:begin -->", "<!-- x:end -->") == "<!-- x:begin -->\nold\n<!-- x:end -->"


def test_fails_when_a_marker_is_missing():
    with pytest.raises(ValueError, match="no marker '<!-- y:end -->'"):
        section(TEXT, "<!-- x:begin -->", "<!-- y:end -->")
