"""Field types shared by the request models, and the base of the response models.

Each constraint is one the OpenAPI document can state: lengths count the characters sent, and
the patterns say which characters are refused, so a client (or a fuzzer) reading the schema
knows exactly what is accepted.
"""

from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError
from sqlmodel import SQLModel

from db.models.base import HTTP_URL, ONE_LINE
from db.models.post import CONTENT_MAX, TITLE_MAX
from db.models.tag import TAG_NAME_MAX
from db.models.user import AVATAR_URL_MAX, BIO_MAX, EMAIL_MAX, NAME_MAX

# Free text keeps its line breaks and tabs; only NUL is refused.
NO_NUL = r"^[^\x00]*$"


def _explained(meaning: str) -> WrapValidator:
    """Say what a pattern means when a value fails it: pydantic's message quotes the pattern."""

    def validate(value: object, handler: ValidatorFunctionWrapHandler) -> object:
        try:
            return handler(value)
        except ValidationError as error:
            if any(item["type"] == "string_pattern_mismatch" for item in error.errors()):
                raise PydanticCustomError("string_pattern_mismatch", meaning) from None
            raise

    return WrapValidator(validate)


ONE_VISIBLE_LINE = _explained(
    "Should be one line with a visible character: no line breaks or control characters, "
    "and not only blanks"
)
WITHOUT_NUL = _explained("Should not contain the NUL character (U+0000)")
HTTP_URL_ONLY = _explained(
    "Should be an http:// or https:// URL with a host, without spaces, invisible or control "
    "characters"
)


def _trim(value: str) -> str:
    return value.strip(" ")


def _json_number(value: object) -> object:
    # JSON Schema's integer includes 30.0, but not "30" or true, which pydantic would coerce.
    if isinstance(value, str | bool):
        raise ValueError("must be a JSON number")
    return value


Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=NAME_MAX, pattern=ONE_LINE),
    ONE_VISIBLE_LINE,
    AfterValidator(_trim),
]
Title = Annotated[
    str,
    StringConstraints(min_length=1, max_length=TITLE_MAX, pattern=ONE_LINE),
    ONE_VISIBLE_LINE,
    AfterValidator(_trim),
]
TagName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=TAG_NAME_MAX, pattern=ONE_LINE),
    ONE_VISIBLE_LINE,
    AfterValidator(_trim),
]
Content = Annotated[str, StringConstraints(max_length=CONTENT_MAX, pattern=NO_NUL), WITHOUT_NUL]
Bio = Annotated[str, StringConstraints(max_length=BIO_MAX, pattern=NO_NUL), WITHOUT_NUL]
AvatarUrl = Annotated[
    str, StringConstraints(max_length=AVATAR_URL_MAX, pattern=HTTP_URL), HTTP_URL_ONLY
]
# A query or path value compared in SQL, where a NUL would fail the statement.
SqlText = Annotated[str, StringConstraints(pattern=NO_NUL), WITHOUT_NUL]
# Searches' words, bounded here rather than by `Query()`: on an optional parameter FastAPI
# applies the bounds to the union, whose message speaks of "items".
PostSearch = Annotated[
    str, StringConstraints(min_length=1, max_length=TITLE_MAX, pattern=NO_NUL), WITHOUT_NUL
]
UserSearch = Annotated[
    str, StringConstraints(min_length=1, max_length=EMAIL_MAX, pattern=NO_NUL), WITHOUT_NUL
]
Integer = Annotated[int, BeforeValidator(_json_number)]


class PlainModel(SQLModel):
    """An SQLModel class that is never a table, built by pydantic alone.

    SQLModel's `__new__` and `__init__` exist for table models (SQLAlchemy instrumentation);
    for others they repeat what pydantic does, but in Python, and pydantic-core calls back into
    them for every model it builds: a page of 20 users with their profiles validated in 250 µs
    instead of 99 µs. They also took a request body's keys as their own arguments: a JSON key
    named `cls` was a TypeError, a 500.
    """

    __init__ = BaseModel.__init__

    def __new__(cls, /, *args: Any, **kwargs: Any) -> Self:
        return object.__new__(cls)


class RequestModel(PlainModel):
    """The base of what the API accepts: a field it does not know is refused, not ignored."""

    # SQLModel types `model_config` as its own subclass of pydantic's ConfigDict.
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]


class ResponseModel(PlainModel):
    """The base of what the API returns. (Post lists and pages skip the models altogether: see
    `api/responses.py`.)"""
