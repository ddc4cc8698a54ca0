"""Base of every stack-config section model, and the small validators they share."""

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Settings(BaseModel):
    """A config section: frozen, camelCase keys in the stack file, unknown keys rejected.

    Python code may build sections with snake_case field names; the stack-file loader accepts
    only the documented camelCase keys (`model_validate(..., by_name=False)`).
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=True,
        regex_engine="python-re",  # GitHub login rules need a lookahead
    )


def distinct(values: list) -> list:
    """Reject a list that names the same value twice."""
    duplicates = sorted({str(value) for value in values if values.count(value) > 1})
    if duplicates:
        raise ValueError(f"expected each value once, {', '.join(duplicates)} is listed twice")
    return values
