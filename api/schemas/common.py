"""Field types shared by the request models."""

from typing import Annotated

from pydantic import AfterValidator, StringConstraints


def _printable(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it here instead of failing in the driver.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_printable)]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(_printable),
]
Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_printable),
]
TagName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50),
    AfterValidator(_printable),
]
Content = Annotated[str, StringConstraints(max_length=50_000), AfterValidator(_printable)]
Bio = Annotated[str, StringConstraints(max_length=500), AfterValidator(_printable)]
AvatarUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=2048, pattern=r"^https?://[^\s]+$"),
    AfterValidator(_printable),
]
