"""Supabase Auth tokens, verified locally against a JWKS served over real HTTP on loopback."""

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from httpx import AsyncClient, Response
from pydantic import SecretStr
from sqlmodel.ext.asyncio.session import AsyncSession

from api.auth import SigningKeys, SigningKeysUnavailable
from api.settings import LOCAL_JWT_SECRET, Settings, SupabaseSettings
from tests.conftest import settings_for
from tests.support import LoopbackServer, create_account, serve_app

ME = "/api/v1/users/me"
JWKS_PATH = "/auth/v1/.well-known/jwks.json"
PROJECT_SECRET = "a-legacy-supabase-project-jwt-secret-0123456789"
EMAIL = "keys@example.com"


@dataclass(frozen=True)
class SigningKey:
    """A project signing key, as Supabase Auth holds it: the private half signs tokens."""

    kid: str
    algorithm: str
    private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

    @classmethod
    def es256(cls, kid: str) -> "SigningKey":
        return cls(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def rs256(cls, kid: str) -> "SigningKey":
        return cls(kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def jwk(self) -> dict[str, Any]:
        """The public key as Supabase publishes it in the project's JWKS."""
        algorithm = jwt.get_algorithm_by_name(self.algorithm)
        public = algorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        return jwt.encode(
            claims, self.private_key, algorithm=self.algorithm, headers={"kid": self.kid, **header}
        )


# RSA keys are slow to generate: one for the whole module.
RSA_KEY = SigningKey.rs256("rsa-key-1")


class JwksStandIn(LoopbackServer):
    """A stand-in for Supabase Auth's JWKS endpoint, served over real HTTP on 127.0.0.1."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.status = 200
        self.body: bytes | None = None
        self.fetches = 0
        self.requested = threading.Event()
        self.release: threading.Event | None = None
        super().__init__(self._handler())

    def serve(self, *keys: SigningKey) -> None:
        self.keys = [key.jwk() for key in keys]

    def stop(self) -> None:
        if self.release is not None:
            self.release.set()
        super().stop()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stand_in.answer(self)

            def log_message(self, format: str, *args: Any) -> None:
                """Keep the test output quiet."""

        return Handler

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        if request.path != JWKS_PATH:
            request.send_error(404)
            return
        self.fetches += 1
        self.requested.set()
        if self.release is not None:
            self.release.wait(timeout=10)
        body = self.body or json.dumps({"keys": self.keys}).encode()
        request.send_response(self.status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)


@pytest.fixture
def jwks() -> Iterator[JwksStandIn]:
    stand_in = JwksStandIn()
    stand_in.start()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def es_key(jwks: JwksStandIn) -> SigningKey:
    key = SigningKey.es256("es-key-1")
    jwks.serve(key)
    return key


def project_settings(database_url: str, supabase_url: str, secret: str) -> Settings:
    settings = settings_for(database_url)
    supabase = SupabaseSettings(url=supabase_url, jwt_secret=SecretStr(secret))
    return settings.model_copy(update={"supabase": supabase})


@pytest.fixture
async def client(
    database_url: str, session: AsyncSession, jwks: JwksStandIn
) -> AsyncIterator[AsyncClient]:
    """The app configured for a Supabase project whose Auth server is the JWKS stand-in."""
    settings = project_settings(database_url, jwks.url, PROJECT_SECRET)
    async with serve_app(settings, session) as client:
        yield client


@pytest.fixture
async def account(session: AsyncSession) -> uuid.UUID:
    account_id = await create_account(session, EMAIL)
    await session.commit()  # outlives a refused request's rollback; the test still rolls back
    return account_id


def claims(issuer: str, sub: uuid.UUID | str, **changes: Any) -> dict[str, Any]:
    """What Supabase Auth puts in a signed-in user's access token."""
    now = int(time.time())
    return {
        "iss": f"{issuer}/auth/v1",
        "sub": str(sub),
        "aud": "authenticated",
        "exp": now + 3600,
        "iat": now,
        "email": EMAIL,
        "role": "authenticated",
        "aal": "aal1",
        "session_id": str(uuid.uuid4()),
        "is_anonymous": False,
        **changes,
    }


def _segment(data: dict[str, Any]) -> bytes:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=")


def hand_made(header: dict[str, Any], payload: dict[str, Any], key: bytes) -> str:
    """A JWT signed with HMAC-SHA256 under any key bytes, which PyJWT rightly refuses to do."""
    signing_input = _segment(header) + b"." + _segment(payload)
    signature = hmac.new(key, signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode()


def unsigned(payload: dict[str, Any], kid: str) -> str:
    return (_segment({"alg": "none", "typ": "JWT", "kid": kid}) + b"." + _segment(payload)).decode()


async def me(client: AsyncClient, token: str) -> Response:
    return await client.get(ME, headers={"Authorization": f"Bearer {token}"})


def assert_refused(response: Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 401


async def test_es256_token_from_the_jwks_passes(
    client: AsyncClient, jwks: JwksStandIn, es_key: SigningKey, account: uuid.UUID
) -> None:
    response = await me(client, es_key.sign(claims(jwks.url, account)))
    assert response.status_code == 200, response.text
    assert response.json()["id"] == str(account)
    assert jwks.fetches == 1
    again = await me(client, es_key.sign(claims(jwks.url, account)))
    assert again.status_code == 200, again.text
    assert jwks.fetches == 1, "the key set is cached"


async def test_rotation_to_a_new_kid_is_picked_up(
    client: AsyncClient, jwks: JwksStandIn, es_key: SigningKey, account: uuid.UUID
) -> None:
    assert (await me(client, es_key.sign(claims(jwks.url, account)))).status_code == 200
    rotated = SigningKey.es256("es-key-2")
    jwks.serve(rotated)
    response = await me(client, rotated.sign(claims(jwks.url, account)))
    assert response.status_code == 200, response.text
    assert jwks.fetches == 2
    assert_refused(await me(client, es_key.sign(claims(jwks.url, account))))


async def test_unknown_kids_refetch_at_most_once_per_cooldown(
    client: AsyncClient, jwks: JwksStandIn, es_key: SigningKey, account: uuid.UUID
) -> None:
    assert (await me(client, es_key.sign(claims(jwks.url, account)))).status_code == 200
    for n in range(5):
        stranger = SigningKey.es256(f"made-up-{n}")
        assert_refused(await me(client, stranger.sign(claims(jwks.url, account))))
    assert jwks.fetches == 2, "one refetch for the first unknown kid, none for the rest"


async def test_rs256_key_from_the_jwks_passes(
    client: AsyncClient, jwks: JwksStandIn, account: uuid.UUID
) -> None:
    jwks.serve(RSA_KEY)
    response = await me(client, RSA_KEY.sign(claims(jwks.url, account)))
    assert response.status_code == 200, response.text


BadToken = Callable[[SigningKey, str, uuid.UUID], str]

BAD_TOKENS: dict[str, BadToken] = {
    "alg none": lambda key, iss, sub: unsigned(claims(iss, sub), key.kid),
    "HS256 signed with the public key": lambda key, iss, sub: hand_made(
        {"alg": "HS256", "typ": "JWT", "kid": key.kid}, claims(iss, sub), key.public_pem()
    ),
    "expired": lambda key, iss, sub: key.sign(claims(iss, sub, exp=int(time.time()) - 3600)),
    "expired beyond the clock leeway": lambda key, iss, sub: key.sign(
        claims(iss, sub, exp=int(time.time()) - 120)
    ),
    "wrong aud": lambda key, iss, sub: key.sign(claims(iss, sub, aud="anon")),
    "wrong iss": lambda key, iss, sub: key.sign(claims("https://other.supabase.co", sub)),
    "no iss": lambda key, iss, sub: key.sign(
        {k: v for k, v in claims(iss, sub).items() if k != "iss"}
    ),
    "anon role": lambda key, iss, sub: key.sign(claims(iss, sub, role="anon")),
    "service_role role": lambda key, iss, sub: key.sign(claims(iss, sub, role="service_role")),
    "non-UUID sub": lambda key, iss, sub: key.sign(claims(iss, "not-a-user-id")),
    "no kid": lambda key, iss, sub: jwt.encode(claims(iss, sub), key.private_key, "ES256"),
    "another key under the same kid": lambda key, iss, sub: SigningKey.es256(key.kid).sign(
        claims(iss, sub)
    ),
    "ES256 header on an RSA kid": lambda key, iss, sub: hand_made(
        {"alg": "ES256", "kid": RSA_KEY.kid}, claims(iss, sub), b"x"
    ),
    "garbage": lambda key, iss, sub: "not.a.jwt",
    "alg not a name": lambda key, iss, sub: hand_made(
        {"alg": ["HS256"], "kid": key.kid}, claims(iss, sub), b"x"
    ),
    "anonymous sign-in": lambda key, iss, sub: key.sign(claims(iss, sub, is_anonymous=True)),
    "lasts longer than a week": lambda key, iss, sub: key.sign(
        claims(iss, sub, exp=int(time.time()) + 8 * 24 * 3600)
    ),
    "no iat": lambda key, iss, sub: key.sign(
        {k: v for k, v in claims(iss, sub).items() if k != "iat"}
    ),
    # JSON's `Infinity` (or `1e999`) reads as a float that no integer holds.
    "infinite exp": lambda key, iss, sub: key.sign(claims(iss, sub, exp=float("inf"))),
    "infinite iat": lambda key, iss, sub: key.sign(claims(iss, sub, iat=float("inf"))),
}


@pytest.mark.parametrize("build", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
async def test_bad_tokens_are_refused(
    client: AsyncClient,
    jwks: JwksStandIn,
    es_key: SigningKey,
    account: uuid.UUID,
    build: BadToken,
) -> None:
    jwks.keys.append(RSA_KEY.jwk())
    assert_refused(await me(client, build(es_key, jwks.url, account)))


async def test_a_token_lasting_as_long_as_supabase_allows_passes(
    client: AsyncClient, jwks: JwksStandIn, es_key: SigningKey, account: uuid.UUID
) -> None:
    """A week: the longest JWT expiry a Supabase project can be set to."""
    week = claims(jwks.url, account, exp=int(time.time()) + 7 * 24 * 3600)
    response = await me(client, es_key.sign(week))
    assert response.status_code == 200, response.text


async def test_a_key_published_for_encryption_does_not_verify_tokens(
    client: AsyncClient, jwks: JwksStandIn, account: uuid.UUID
) -> None:
    key = SigningKey.es256("encryption-key")
    jwks.keys = [{**key.jwk(), "use": "enc"}]
    assert_refused(await me(client, key.sign(claims(jwks.url, account))))


async def test_hs256_with_the_project_secret_still_passes(
    client: AsyncClient, jwks: JwksStandIn, account: uuid.UUID
) -> None:
    token = jwt.encode(claims(jwks.url, account), PROJECT_SECRET, "HS256")
    response = await me(client, token)
    assert response.status_code == 200, response.text
    assert jwks.fetches == 0, "HS256 tokens never need the key set"


async def test_hs256_without_the_project_issuer_is_refused(
    client: AsyncClient, account: uuid.UUID
) -> None:
    token = jwt.encode(claims("https://elsewhere.example", account), PROJECT_SECRET, "HS256")
    assert_refused(await me(client, token))


async def test_placeholder_secret_is_not_trusted_once_a_project_is_configured(
    database_url: str, session: AsyncSession, jwks: JwksStandIn, account: uuid.UUID
) -> None:
    settings = project_settings(database_url, jwks.url, LOCAL_JWT_SECRET)
    async with serve_app(settings, session) as client:
        token = jwt.encode(claims(jwks.url, account), LOCAL_JWT_SECRET, "HS256")
        assert_refused(await me(client, token))


async def test_unreachable_jwks_is_a_503_not_a_500(
    database_url: str, session: AsyncSession, es_key: SigningKey, account: uuid.UUID
) -> None:
    down = JwksStandIn()
    down.start()
    down.stop()
    settings = project_settings(database_url, down.url, PROJECT_SECRET)
    async with serve_app(settings, session) as client:
        response = await me(client, es_key.sign(claims(down.url, account)))
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert "retry-after" in response.headers
        hs256 = jwt.encode(claims(down.url, account), PROJECT_SECRET, "HS256")
        assert (await me(client, hs256)).status_code == 200


async def test_the_keys_fetched_last_serve_while_the_jwks_cannot_be_fetched(
    jwks: JwksStandIn, es_key: SigningKey
) -> None:
    """An Auth outage after the cache expires refuses no token its keys signed, for a while;
    a key it never had is still out of reach (503), and an old enough set no longer serves."""
    keys = SigningKeys(
        jwks.url + JWKS_PATH, cache_seconds=0.05, cooldown_seconds=5, stale_seconds=1
    )
    assert (await keys.get(es_key.kid)).key_id == es_key.kid
    jwks.status = 500
    await asyncio.sleep(0.1)
    assert (await keys.get(es_key.kid)).key_id == es_key.kid
    assert (await keys.get(es_key.kid)).key_id == es_key.kid, "and in the cooldown"
    assert jwks.fetches == 2
    with pytest.raises(SigningKeysUnavailable):
        await keys.get("never-published")
    await asyncio.sleep(1)
    with pytest.raises(SigningKeysUnavailable):
        await keys.get(es_key.kid)


@pytest.mark.parametrize("failure", ["server error", "not json", "a key without its value"])
async def test_a_broken_jwks_endpoint_is_a_503(
    client: AsyncClient, jwks: JwksStandIn, es_key: SigningKey, account: uuid.UUID, failure: str
) -> None:
    if failure == "server error":
        jwks.status = 500
    elif failure == "not json":
        jwks.body = b"<html>Service Unavailable</html>"
    else:
        jwks.body = b'{"keys": [{"kty": "oct"}]}'
    response = await me(client, es_key.sign(claims(jwks.url, account)))
    assert response.status_code == 503, response.text
    again = await me(client, es_key.sign(claims(jwks.url, account)))
    assert again.status_code == 503
    assert jwks.fetches == 1, "a failed fetch is not retried at once"


async def test_a_key_set_without_usable_keys_refuses_the_token_with_a_401(
    client: AsyncClient, jwks: JwksStandIn, es_key: SigningKey, account: uuid.UUID
) -> None:
    """A project that signs with its legacy secret publishes an empty set: nothing is down."""
    jwks.keys.clear()
    assert_refused(await me(client, es_key.sign(claims(jwks.url, account))))
    hs256 = jwt.encode(claims(jwks.url, account), PROJECT_SECRET, "HS256")
    assert (await me(client, hs256)).status_code == 200


async def test_fetching_keys_does_not_block_other_requests(
    client: AsyncClient, jwks: JwksStandIn, es_key: SigningKey, account: uuid.UUID
) -> None:
    jwks.release = threading.Event()
    waiting = asyncio.create_task(me(client, es_key.sign(claims(jwks.url, account))))
    assert await asyncio.to_thread(jwks.requested.wait, 10)
    hs256 = jwt.encode(claims(jwks.url, account), PROJECT_SECRET, "HS256")
    other = await me(client, hs256)
    assert other.status_code == 200, other.text
    assert not waiting.done(), "the other request was served while the keys were in flight"
    jwks.release.set()
    assert (await waiting).status_code == 200


async def test_a_key_dropped_from_the_jwks_stays_out_while_the_jwks_cannot_be_fetched(
    jwks: JwksStandIn, es_key: SigningKey
) -> None:
    """A set fetched without the key, even one with no key at all, is the set fetched last:
    an Auth outage afterwards does not bring back the key the project revoked."""
    keys = SigningKeys(
        jwks.url + JWKS_PATH, cache_seconds=0.05, cooldown_seconds=0.05, stale_seconds=60
    )
    assert (await keys.get(es_key.kid)).key_id == es_key.kid
    jwks.keys.clear()
    await asyncio.sleep(0.1)
    with pytest.raises(jwt.PyJWKClientError):
        await keys.get(es_key.kid)
    jwks.status = 500
    await asyncio.sleep(0.1)
    with pytest.raises(SigningKeysUnavailable):
        await keys.get(es_key.kid)
    assert jwks.fetches == 3
