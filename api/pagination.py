"""Opaque keyset cursors: the position a page ended on, signed so a tampered one is refused."""

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import Query

from api.errors import InvalidInput
from db.repositories.pages import Keyset

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
SIGNATURE_BYTES = 16

# The query parameters every list takes.
PageLimit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
PageCursor = Annotated[str | None, Query(max_length=512)]


class CursorCodec:
    """Encodes a `Keyset` for one kind of list; a cursor from another list is refused too."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"quire-cursor:" + secret.encode()).digest()

    def encode(self, keyset: Keyset | None, kind: str) -> str | None:
        if keyset is None:
            return None
        body = json.dumps([kind, keyset.at.isoformat(), str(keyset.id)]).encode()
        token = self._sign(body) + body
        return base64.urlsafe_b64encode(token).decode().rstrip("=")

    def decode(self, cursor: str | None, kind: str) -> Keyset | None:
        if cursor is None:
            return None
        try:
            token = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            signature, body = token[:SIGNATURE_BYTES], token[SIGNATURE_BYTES:]
            if not hmac.compare_digest(signature, self._sign(body)):
                raise ValueError("bad signature")
            cursor_kind, at, key = json.loads(body)
            if cursor_kind != kind:
                raise ValueError("cursor of another list")
            return Keyset(at=datetime.fromisoformat(at), id=uuid.UUID(key))
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as error:
            raise InvalidInput("The cursor is not one this API issued.", field="cursor") from error

    def _sign(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:SIGNATURE_BYTES]
