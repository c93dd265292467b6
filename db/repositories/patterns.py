"""LIKE patterns built from user text."""


def escape_like(text: str) -> str:
    """`text` matched literally inside a LIKE pattern written with `escape="\\"`."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
