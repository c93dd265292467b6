"""What a request's Content-Type says its body is."""

import email.message


def is_json(content_type: bytes) -> bool:
    """Whether FastAPI parses a body of this type as JSON, decided as FastAPI decides it.

    Its test (fastapi.routing) reads the header with `email.message`, whose str.strip() also
    strips NEL, NBSP and the ASCII separators: any other reading lets some spelling of
    `application/json` past StrictJsonMiddleware's checks and on to FastAPI's parser.
    """
    if content_type == b"application/json":
        return True
    message = email.message.Message()
    message["content-type"] = content_type.decode("latin-1")  # as Starlette decodes headers
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def is_form_data(content_type: str) -> bool:
    """Whether a body of this type is a multipart form, the only form that carries files."""
    return content_type.partition(";")[0].strip().lower() == "multipart/form-data"
