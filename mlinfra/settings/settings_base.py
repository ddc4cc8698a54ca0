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


def distinct_ignoring_case(values: list[str]) -> list[str]:
    """Reject a list that names the same value twice, ignoring case, for services that compare
    names case-insensitively (GitHub logins, Azure DevOps group names, Entra object ids)."""
    seen: dict[str, str] = {}
    for value in values:
        if value.casefold() in seen:
            raise ValueError(
                f"expected each value once, {seen[value.casefold()]} and {value} differ only in case "
                "(the service compares them case-insensitively)"
            )
        seen[value.casefold()] = value
    return values


def trimmed_name(value: str) -> str:
    """A name is never empty, blank or padded: services trim or refuse such names, so the
    deployed name would differ from the configured one, or the deploy would fail halfway."""
    if not value.strip():
        raise ValueError("expected a name, got an empty or whitespace-only string")
    if value != value.strip():
        raise ValueError("expected no leading or trailing whitespace")
    return value


Name = Annotated[StrictStr, AfterValidator(trimmed_name)]
"""A string used as a name: not empty, not blank, no leading or trailing whitespace."""


_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def validate_guid(value: str) -> str:
    """A GUID in its usual 8-4-4-4-12 hex form."""
    if not _GUID.fullmatch(value):
        raise ValueError("expected a GUID like 0b1f6c3e-2a4d-4c8e-9f10-5e6d7c8b9a01")
    return value


Guid = Annotated[StrictStr, AfterValidator(validate_guid)]
StrictInt = Annotated[int, Field(strict=True)]
