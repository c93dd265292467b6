"""Supabase Auth access tokens, verified locally: HS256 with the project's JWT secret, or
ES256/RS256 with the keys the project publishes as a JWKS (cached, refetched on a new `kid`)."""

import time
import uuid
from dataclasses import dataclass

import jwt
from jwt import PyJWKClient
from starlette.concurrency import run_in_threadpool

from api.errors import Unauthorized

AUDIENCE = "authenticated"
USER_ROLE = "authenticated"
ASYMMETRIC_ALGORITHMS = frozenset({"ES256", "RS256"})
LEEWAY_SECONDS = 30


@dataclass(frozen=True)
class TokenClaims:
    sub: uuid.UUID
    email: str | None


class TokenVerifier:
    """Checks signature, expiry, audience, issuer and role; returns the caller's claims."""

    def __init__(
        self,
        *,
        secret: str | None,
        issuer: str | None = None,
        jwks_url: str | None = None,
        jwks_cache_seconds: int = 600,
    ) -> None:
        self._secret = secret
        self._issuer = issuer
        self._jwks = (
            PyJWKClient(jwks_url, cache_keys=True, lifespan=jwks_cache_seconds, timeout=5)
            if jwks_url
            else None
        )

    async def verify(self, token: str) -> TokenClaims:
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
            key, algorithms = await self._key_for(token, algorithm)
            payload = jwt.decode(
                token,
                key=key,
                algorithms=algorithms,
                audience=AUDIENCE,
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "sub", "aud"]},
            )
        except jwt.PyJWTError as error:
            raise Unauthorized(f"Invalid access token: {_reason(error)}") from error
        return _claims(payload)

    async def _key_for(self, token: str, algorithm: object) -> tuple[object, list[str]]:
        if algorithm == "HS256" and self._secret:
            return self._secret, ["HS256"]
        if algorithm in ASYMMETRIC_ALGORITHMS and self._jwks is not None:
            # The first lookup (and one after a key rotation) fetches over HTTP: keep it off
            # the event loop.
            signing_key = await run_in_threadpool(self._jwks.get_signing_key_from_jwt, token)
            if signing_key.algorithm_name != algorithm:
                raise jwt.InvalidAlgorithmError("the key does not sign with this algorithm")
            return signing_key.key, [str(algorithm)]
        raise jwt.InvalidAlgorithmError(f"tokens signed with {algorithm!r} are not accepted")


def _reason(error: jwt.PyJWTError) -> str:
    if isinstance(error, jwt.ExpiredSignatureError):
        return "it has expired"
    if isinstance(error, jwt.InvalidAudienceError):
        return "wrong audience"
    if isinstance(error, jwt.InvalidIssuerError):
        return "wrong issuer"
    if isinstance(error, jwt.InvalidAlgorithmError | jwt.InvalidSignatureError):
        return "bad signature or algorithm"
    if isinstance(error, jwt.PyJWKClientError):
        return "unknown signing key"
    return "malformed token"


def _claims(payload: dict[str, object]) -> TokenClaims:
    if payload.get("role") != USER_ROLE:
        raise Unauthorized("Invalid access token: not a signed-in user's token")
    try:
        sub = uuid.UUID(str(payload["sub"]))
    except ValueError as error:
        raise Unauthorized("Invalid access token: subject is not a user id") from error
    email = payload.get("email")
    return TokenClaims(sub=sub, email=email if isinstance(email, str) and email else None)


def issue_token(
    sub: uuid.UUID | str,
    email: str | None,
    *,
    secret: str,
    expires_in: int = 3600,
    algorithm: str = "HS256",
    headers: dict[str, object] | None = None,
    **claims: object,
) -> str:
    """A token shaped like Supabase Auth's, signed with the project's secret (for local use)."""
    now = int(time.time())
    payload: dict[str, object] = {
        "sub": str(sub),
        "aud": AUDIENCE,
        "role": USER_ROLE,
        "iat": now,
        "exp": now + expires_in,
        **claims,
    }
    if email is not None:
        payload["email"] = email
    return jwt.encode(payload, secret, algorithm=algorithm, headers=headers)
