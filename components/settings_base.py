"""Base of every stack-config section model, and the small validators they share."""

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr
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


_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def validate_guid(value: str) -> str:
    """A GUID in its usual 8-4-4-4-12 hex form."""
    if not _GUID.fullmatch(value):
        raise ValueError("expected a GUID like 0b1f6c3e-2a4d-4c8e-9f10-5e6d7c8b9a01")
    return value


Guid = Annotated[StrictStr, AfterValidator(validate_guid)]
StrictInt = Annotated[int, Field(strict=True)]
