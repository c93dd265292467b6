"""Supabase Auth access tokens, verified locally: HS256 with the project's JWT secret (legacy
projects), or ES256/RS256 with the keys the project publishes as a JWKS."""

import asyncio
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import jwt
from jwt import PyJWK, PyJWKClient, PyJWKSet
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from api.errors import ServiceUnavailable, Unauthorized
from api.schemas.common import Name
from api.settings import SupabaseSettings
from db.models.user import NAME_MAX

AUDIENCE = "authenticated"
USER_ROLE = "authenticated"
ASYMMETRIC_ALGORITHMS = frozenset({"ES256", "RS256"})
LEEWAY_SECONDS = 30
FETCH_TIMEOUT_SECONDS = 5
REFETCH_COOLDOWN_SECONDS = 10
# How long the keys last fetched still verify tokens while the JWKS cannot be fetched: an Auth
# outage then refuses no token it had already signed (Supabase's last an hour).
STALE_KEYS_SECONDS = 24 * 3600
# The longest a Supabase access token may live (the project's JWT expiry is at most a week): a
# token valid for longer was not issued by Supabase Auth.
MAX_TOKEN_LIFETIME_SECONDS = 7 * 24 * 3600
# Where Supabase Auth keeps the name an OAuth provider gives, or one passed at sign-up.
NAME_CLAIMS = ("full_name", "name")
NAME: TypeAdapter[str] = TypeAdapter(Name)


@dataclass(frozen=True)
class TokenClaims:
    sub: uuid.UUID
    email: str | None
    name: str | None = None


class SigningKeysUnavailable(ServiceUnavailable):
    """The JWKS could not be fetched: the token may be fine, so not a 401."""

    headers: Mapping[str, str] | None = MappingProxyType(
        {"Retry-After": str(REFETCH_COOLDOWN_SECONDS)}
    )


class SigningKeys:
    """The project's JWKS: cached, fetched off the event loop, one fetch at a time.

    A token with an unknown `kid` makes us refetch the set, so key rotation just works; after
    a refetch that did not find the key, or one that failed, we stay quiet for the cooldown so
    made-up `kid`s cannot turn every request into a call to the Auth server. While the set
    cannot be fetched, the one fetched last serves, for up to STALE_KEYS_SECONDS.
    """

    def __init__(
        self,
        url: str,
        *,
        cache_seconds: float,
        cooldown_seconds: float = REFETCH_COOLDOWN_SECONDS,
        stale_seconds: float = STALE_KEYS_SECONDS,
        timeout: float = FETCH_TIMEOUT_SECONDS,
    ) -> None:
        # No per-kid LRU (`cache_keys`): it never expires, so a revoked key would verify
        # forever. PyJWKClient's own cooldown is off: it also blocks the first refetch after
        # any fetch, which would reject a freshly rotated key.
        self._client = PyJWKClient(
            url, lifespan=cache_seconds, timeout=timeout, cooldown_duration=0
        )
        self._cooldown = cooldown_seconds
        self._lock = asyncio.Lock()
        self._quiet_until = float("-inf")
        self._unreachable = False
        self._stale_seconds = stale_seconds
        self._fetched: PyJWKSet | None = None
        self._fetched_at = float("-inf")

    async def get(self, kid: str) -> PyJWK:
        """The signing key with this `kid`, from the cache or a fresh fetch."""
        key = self._cached(kid)
        if key is None:
            async with self._lock:
                key = self._cached(kid) or await self._refetch(kid)
        return key

    def _cached(self, kid: str) -> PyJWK | None:
        cache = self._client.jwk_set_cache
        return _find(cache.get() if cache is not None else None, kid)

    async def _refetch(self, kid: str) -> PyJWK:
        if time.monotonic() < self._quiet_until:
            if stale := self._stale(kid):
                return stale
            raise self._quiet_error(kid)
        try:
            jwk_set = await run_in_threadpool(self._client.get_jwk_set, True)
        except jwt.PyJWKSetError as error:
            # Fetched, without a key Quire can use: a project that signs with its legacy
            # secret publishes an empty set. The token's key is unknown, not out of reach, and
            # no key of a set fetched before (one since revoked) may serve in an outage.
            self._fetched, self._fetched_at = None, time.monotonic()
            self._pause(unreachable=False)
            raise self._quiet_error(kid) from error
        except (jwt.PyJWTError, ValueError, KeyError) as error:
            # Out of reach, or an answer that is no key set: not JSON (ValueError), or a key
            # without its members (PyJWT raises KeyError for an `oct` key without `k`).
            self._pause(unreachable=True)
            if stale := self._stale(kid):
                return stale
            raise self._quiet_error(kid) from error
        self._fetched, self._fetched_at = jwk_set, time.monotonic()
        key = _find(jwk_set, kid)
        if key is None:
            self._pause(unreachable=False)
            raise self._quiet_error(kid)
        return key

    def _stale(self, kid: str) -> PyJWK | None:
        """The key from the set fetched last, while fetching fails and that set is recent."""
        if not self._unreachable or time.monotonic() - self._fetched_at > self._stale_seconds:
            return None
        return _find(self._fetched, kid)

    def _pause(self, *, unreachable: bool) -> None:
        self._quiet_until = time.monotonic() + self._cooldown
        self._unreachable = unreachable

    def _quiet_error(self, kid: str) -> Exception:
        if self._unreachable:
            return SigningKeysUnavailable("The token signing keys cannot be fetched right now.")
        return jwt.PyJWKClientError(f"no signing key with kid {kid!r}")


def _find(jwk_set: PyJWKSet | None, kid: str) -> PyJWK | None:
    keys = jwk_set.keys if jwk_set is not None else []
    return next((k for k in keys if k.key_id == kid and k.public_key_use in {"sig", None}), None)


class TokenVerifier:
    """Checks signature, expiry, audience, issuer and role; returns the caller's claims."""

    def __init__(
        self, *, secret: str | None, issuer: str | None = None, keys: SigningKeys | None = None
    ) -> None:
        self._secret = secret
        self._issuer = issuer
        self._keys = keys

    @classmethod
    def from_settings(cls, settings: SupabaseSettings) -> "TokenVerifier":
        """HS256 when a secret is set, the JWKS when SUPABASE_URL is, `iss` pinned to it."""
        # A cache that expires within the cooldown would leave valid tokens unverifiable.
        cache_seconds = max(settings.jwks_cache_seconds, REFETCH_COOLDOWN_SECONDS)
        keys = (
            SigningKeys(settings.jwks_url, cache_seconds=cache_seconds)
            if settings.jwks_url
            else None
        )
        return cls(secret=settings.hs256_secret, issuer=settings.auth_issuer, keys=keys)

    async def verify(self, token: str) -> TokenClaims:
        """The claims of a signed-in user's valid token; Unauthorized for anything else."""
        try:
            header = jwt.get_unverified_header(token)
            key, algorithm = await self._key_for(header)
            payload = jwt.decode(
                token,
                key=key,
                algorithms=[algorithm],
                audience=AUDIENCE,
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "sub", "aud"]},
            )
        except jwt.PyJWTError as error:
            raise Unauthorized(f"Invalid access token: {_reason(error)}") from error
        return _claims(payload)

    async def _key_for(self, header: Mapping[str, Any]) -> tuple[Any, str]:
        """The key and the one algorithm a token with this header may be verified with."""
        algorithm = header.get("alg")
        if not isinstance(algorithm, str):
            raise jwt.InvalidAlgorithmError("no algorithm named")
        if algorithm == "HS256" and self._secret:
            return self._secret, algorithm
        if algorithm in ASYMMETRIC_ALGORITHMS and self._keys is not None:
            kid = header.get("kid")
            if not isinstance(kid, str) or not kid:
                raise jwt.InvalidTokenError("no key id")
            signing_key = await self._keys.get(kid)
            if signing_key.algorithm_name != algorithm:
                raise jwt.InvalidAlgorithmError("the key does not sign with this algorithm")
            return signing_key.key, algorithm
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


def _claims(payload: dict[str, Any]) -> TokenClaims:
    if payload.get("role") != USER_ROLE:
        raise Unauthorized("Invalid access token: not a signed-in user's token")
    if payload.get("is_anonymous") is True:
        raise Unauthorized("Invalid access token: an anonymous sign-in has no account here")
    # Both are whole numbers, or numbers as text, once PyJWT has checked them.
    if int(payload["exp"]) - int(payload["iat"]) > MAX_TOKEN_LIFETIME_SECONDS:
        raise Unauthorized("Invalid access token: it lasts longer than Supabase's tokens do")
    try:
        sub = uuid.UUID(str(payload["sub"]))
    except ValueError as error:
        raise Unauthorized("Invalid access token: subject is not a user id") from error
    email = payload.get("email")
    return TokenClaims(
        sub=sub, email=email if isinstance(email, str) and email else None, name=_name(payload)
    )


def _name(payload: Mapping[str, Any]) -> str | None:
    """The account's name in its `user_metadata`, if it is one a user could choose here."""
    metadata = payload.get("user_metadata")
    if not isinstance(metadata, Mapping):
        return None
    for key in NAME_CLAIMS:
        name = metadata.get(key)
        if not isinstance(name, str):
            continue
        try:
            # The rule `PATCH /users/me` holds names to; a long one is cut to fit it first.
            return NAME.validate_python(name.strip()[:NAME_MAX])
        except ValidationError:
            continue
    return None


def issue_token(
    sub: uuid.UUID | str,
    email: str | None,
    *,
    secret: str,
    expires_in: int = 3600,
    algorithm: str = "HS256",
    headers: dict[str, object] | None = None,
    issuer: str | None = None,
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
    if issuer is not None:
        payload["iss"] = issuer
    return jwt.encode(payload, secret, algorithm=algorithm, headers=headers)
