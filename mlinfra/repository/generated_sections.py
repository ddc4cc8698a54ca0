"""Generated sections of the guides in docs/: a block between a begin and an end marker (HTML comments that
name the command that writes it), replaced whole by that command and compared whole by its test."""

from __future__ import annotations


def section(text: str, begin: str, end: str) -> str:
    """The block from `begin` through `end`, markers included; ValueError naming a missing marker."""
    for marker in (begin, end):
        if marker not in text:
            raise ValueError(f"no marker {marker!r}: restore it where the generated block belongs")
    return text[text.index(begin) : text.index(end) + len(end)]


def replace_section(text: str, begin: str, end: str, block: str) -> str:
    """`text` with the block from `begin` through `end` replaced by `block` (which holds both markers)."""
    old = section(text, begin, end)
    start = text.index(begin)
    return text[:start] + block + text[start + len(old) :]
