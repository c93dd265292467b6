"""Turn a connection string pasted from a dashboard into what SQLAlchemy + asyncpg need.

Supabase (and most hosts) hand out libpq-style URLs: `postgres://` or `postgresql://`,
`?sslmode=…`, sometimes a raw password full of URL-special characters. asyncpg takes none of
that as is, so everything is translated here, in one place, and unit-tested case by case.
"""

import ssl
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote

from sqlalchemy.engine import URL

PoolMode = Literal["session", "transaction"]

SUPPORTED_SCHEMES = {"postgres", "postgresql", "postgresql+asyncpg"}
TRANSACTION_POOLER_PORT = 6543
DEFAULT_PORT = 5432
# Query parameters that other clients put in Supabase URLs and asyncpg would reject.
IGNORED_PARAMETERS = {"pgbouncer", "connection_limit", "pool_timeout", "schema"}


class DatabaseUrlError(ValueError):
    """The connection string cannot be understood; the message says why."""


@dataclass(frozen=True)
class DatabaseTarget:
    url: URL
    connect_args: dict[str, Any] = field(default_factory=dict)
    pool_mode: PoolMode = "session"

    @property
    def is_transaction_pooler(self) -> bool:
        return self.pool_mode == "transaction"

    def redacted(self) -> str:
        return self.url.render_as_string(hide_password=True)


def parse_database_url(raw: str, *, pool_mode: PoolMode | None = None) -> DatabaseTarget:
    """Parse a pasted connection string into an asyncpg URL, connect arguments and pool mode."""
    scheme, sep, rest = raw.strip().partition("://")
    if not sep or scheme.lower() not in SUPPORTED_SCHEMES:
        raise DatabaseUrlError(
            f"DATABASE_URL must start with postgresql:// or postgres:// (got {scheme!r})"
        )
    user, password, hostpart = _split_userinfo(rest)
    location, _, query_string = hostpart.partition("?")
    host, port, database = _split_location(location)
    query = dict(parse_qsl(query_string, keep_blank_values=True))

    mode: PoolMode = pool_mode or ("transaction" if port == TRANSACTION_POOLER_PORT else "session")
    connect_args = _connect_args(query, mode)
    url = URL.create(
        "postgresql+asyncpg",
        username=user or None,
        password=password,
        host=host or None,
        port=port,
        database=database or None,
    )
    return DatabaseTarget(url=url, connect_args=connect_args, pool_mode=mode)


def _split_userinfo(rest: str) -> tuple[str, str | None, str]:
    # The host part never holds '@', so the last one ends the credentials even when a raw
    # password contains '@', '/', '?' or '#'.
    userinfo, at, hostpart = rest.rpartition("@")
    if not at:
        return "", None, rest
    user, colon, password = userinfo.partition(":")
    return unquote(user), (unquote(password) if colon else None), hostpart


def _split_location(location: str) -> tuple[str, int, str]:
    netloc, _, database = location.partition("/")
    host, port_text = netloc, ""
    if netloc.startswith("["):
        end = netloc.find("]")
        host, port_text = netloc[1:end], netloc[end + 2 :]
    elif ":" in netloc:
        host, _, port_text = netloc.rpartition(":")
    try:
        port = int(port_text) if port_text else DEFAULT_PORT
    except ValueError as error:
        raise DatabaseUrlError(f"DATABASE_URL has an invalid port: {port_text!r}") from error
    return unquote(host), port, unquote(database)


def _connect_args(query: dict[str, str], mode: PoolMode) -> dict[str, Any]:
    args: dict[str, Any] = {"timeout": float(query.pop("connect_timeout", "5") or 5)}
    sslmode = query.pop("sslmode", None)
    rootcert = query.pop("sslrootcert", None)
    if sslmode is not None or rootcert is not None:
        args["ssl"] = ssl_for(sslmode or "verify-full", rootcert)
    server_settings = {}
    if name := query.pop("application_name", None):
        server_settings["application_name"] = name
    if options := query.pop("options", None):
        server_settings.update(_parse_options(options))
    if server_settings:
        args["server_settings"] = server_settings
    for key in IGNORED_PARAMETERS:
        query.pop(key, None)
    if query:
        raise DatabaseUrlError(f"DATABASE_URL has unsupported parameters: {sorted(query)}")
    if mode == "transaction":
        # A transaction pooler hands each transaction to any server connection: a prepared
        # statement cached or named on one connection is missing (or someone else's) on the next.
        args["statement_cache_size"] = 0
        args["prepared_statement_cache_size"] = 0
        args["prepared_statement_name_func"] = _unique_statement_name
    return args


def _unique_statement_name() -> str:
    return f"__quire_{uuid.uuid4().hex}__"


def _parse_options(options: str) -> dict[str, str]:
    settings = {}
    for part in options.split():
        key, _, value = part.removeprefix("-c").strip().partition("=")
        if key and value:
            settings[key] = value
    return settings


def ssl_for(sslmode: str, rootcert: str | None = None) -> ssl.SSLContext | str | bool:
    """libpq's sslmode semantics as asyncpg's `ssl` argument."""
    if sslmode == "disable":
        return False
    if sslmode in {"allow", "prefer"}:
        return sslmode
    if sslmode not in {"require", "verify-ca", "verify-full"}:
        raise DatabaseUrlError(f"unknown sslmode {sslmode!r}")
    context = ssl.create_default_context(cafile=rootcert)
    if sslmode == "require" and rootcert is None:
        # libpq's `require`: encrypted, but the server's certificate is not checked.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif sslmode in {"require", "verify-ca"}:
        context.check_hostname = False
    return context
