"""Turn a connection string pasted from a dashboard into what SQLAlchemy + asyncpg need.

Supabase (and most hosts) hand out libpq-style URLs: `postgres://` or `postgresql://`,
`?sslmode=…`, sometimes a raw password full of URL-special characters. asyncpg takes none of
that as is, so everything is translated here, in one place, and unit-tested case by case.
"""

import re
import ssl
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote

from sqlalchemy.engine import URL

PoolMode = Literal["session", "transaction"]

SUPPORTED_SCHEMES = {"postgres", "postgresql", "postgresql+asyncpg"}
TRANSACTION_POOLER_PORT = 6543
DEFAULT_PORT = 5432
DEFAULT_CONNECT_TIMEOUT = 5.0
# What the dashboard shows in place of the password until it is typed in.
PASSWORD_PLACEHOLDER = "[YOUR-PASSWORD]"  # noqa: S105  # nosec B105
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# libpq's `sslrootcert=system`: the operating system's trusted CAs, verified in full.
SYSTEM_ROOTCERT = "system"
# The URL parameters Quire takes, and the libpq environment variable of each (for `make psql`).
LIBPQ_VARIABLES = {
    "sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME", "options": "PGOPTIONS",
}  # fmt: skip
SUPPORTED_PARAMETERS = set(LIBPQ_VARIABLES)
# Query parameters that other clients put in Supabase URLs and asyncpg would reject
# (`pgbouncer=true` still marks a transaction pooler).
IGNORED_PARAMETERS = {"pgbouncer", "connection_limit", "pool_timeout", "schema"}
# What a URL holds after its credentials: host[:port] (a host name, or an IPv6 literal in
# brackets; a list of them is recognised so as to be refused), then /database and a query of
# parameters Quire knows, whose values hold no '?' (and an sslmode's, only a word).
HOST_AND_PORT = r"(?:[\w.%-]*|\[[\w:.%]+\])(?::[0-9]+)?"
NAMED = "|".join(sorted((SUPPORTED_PARAMETERS | IGNORED_PARAMETERS) - {"sslmode"}))
PARAMETER = rf"(?:sslmode=[\w-]*|(?:{NAMED})=[^&?]*)"
QUERY = rf"\?(?:{PARAMETER})?(?:&(?:{PARAMETER})?)*"
LOCATION = re.compile(rf"{HOST_AND_PORT}(?:,{HOST_AND_PORT})*(?:/[^/?@]*)?(?:{QUERY})?", re.DOTALL)


# Connect arguments that SQLAlchemy's asyncpg dialect consumes and asyncpg itself would reject.
SQLALCHEMY_ONLY = frozenset({"prepared_statement_cache_size", "prepared_statement_name_func"})


class DatabaseUrlError(ValueError):
    """The connection string cannot be understood; the message says why."""


@dataclass(frozen=True)
class DatabaseTarget:
    """Where to connect (an asyncpg URL), how (asyncpg connect arguments) and through what."""

    url: URL
    connect_args: dict[str, Any] = field(default_factory=dict)
    pool_mode: PoolMode = "session"
    # The URL's own connection parameters (sslmode, …), for libpq's tools.
    parameters: dict[str, str] = field(default_factory=dict)

    @property
    def is_transaction_pooler(self) -> bool:
        return self.pool_mode == "transaction"

    def redacted(self) -> str:
        """The URL as libpq's tools take it, its password hidden."""
        return self.url.set(drivername="postgresql").render_as_string(hide_password=True)

    def asyncpg_arguments(self) -> dict[str, Any]:
        """Keyword arguments for a plain `asyncpg.connect` or pool, without SQLAlchemy."""
        connect = {k: v for k, v in self.connect_args.items() if k not in SQLALCHEMY_ONLY}
        return {
            "user": self.url.username,
            "password": self.url.password,
            "host": self.url.host,
            "port": self.url.port,
            "database": self.url.database,
            **connect,
        }

    def libpq_environment(self) -> dict[str, str]:
        """The connection as libpq's environment variables, for `psql` and `pg_dump`."""
        url = self.url
        given = {
            "PGHOST": url.host, "PGPORT": url.port and str(url.port), "PGUSER": url.username,
            "PGPASSWORD": url.password, "PGDATABASE": url.database,
        }  # fmt: skip
        given |= {LIBPQ_VARIABLES[name]: value for name, value in self.parameters.items()}
        return {name: str(value) for name, value in given.items() if value}

    def with_database(self, name: str) -> str:
        """A libpq URL for database `name` on the same server, with the same credentials."""
        return self.url.set(database=name, drivername="postgresql").render_as_string(False)


def asyncpg_arguments(url: str) -> dict[str, Any]:
    """`asyncpg.connect` keyword arguments for any URL Quire accepts."""
    return parse_database_url(url).asyncpg_arguments()


def parse_database_url(raw: str, *, pool_mode: PoolMode | None = None) -> DatabaseTarget:
    """Parse a pasted connection string into an asyncpg URL, connect arguments and pool mode.

    The pool mode is `transaction` for port 6543 (Supabase's transaction pooler) or a URL
    marked `pgbouncer=true` (as Prisma's are), unless `pool_mode` says otherwise.
    """
    rest = _strip_scheme(raw)
    user, password, hostpart = _split_userinfo(rest)
    location, _, query_string = hostpart.partition("?")
    host, port, database = _split_location(location)
    query = _parse_query(query_string)
    if "sslrootcert" in query:
        # A root certificate on its own asks for a verified server, as libpq does.
        query.setdefault("sslmode", "verify-full")
    pooled = port == TRANSACTION_POOLER_PORT or query.get("pgbouncer", "").lower() == "true"
    mode: PoolMode = pool_mode or ("transaction" if pooled else "session")
    url = URL.create(
        "postgresql+asyncpg",
        username=user or None,
        password=password,
        host=host or None,
        port=port,
        database=database or None,
    )
    connect_args = _connect_args(query, mode)
    parameters = {name: value for name, value in query.items() if name in SUPPORTED_PARAMETERS}
    return DatabaseTarget(url=url, connect_args=connect_args, pool_mode=mode, parameters=parameters)


def _strip_scheme(raw: str) -> str:
    scheme, sep, rest = raw.strip().partition("://")
    if not sep or scheme.lower() not in SUPPORTED_SCHEMES:
        # Without a scheme the text may be anything, a password included: never echo it.
        shown = repr(scheme) if sep else "no scheme"
        raise DatabaseUrlError(
            f"DATABASE_URL must start with postgresql:// or postgres:// (got {shown})"
        )
    return rest


def _split_userinfo(rest: str) -> tuple[str, str | None, str]:
    userinfo, hostpart = _split_at_end_of_credentials(rest)
    if userinfo is None:
        return "", None, hostpart
    user, colon, password = userinfo.partition(":")
    if password == PASSWORD_PLACEHOLDER:
        raise DatabaseUrlError(
            f"DATABASE_URL still holds the placeholder {PASSWORD_PLACEHOLDER}: "
            "replace it with the database password"
        )
    # A raw '%' not followed by two hex digits is kept as is, so both pasted and
    # percent-encoded passwords work.
    return unquote(user), (unquote(password) if colon else None), hostpart


def _split_at_end_of_credentials(rest: str) -> tuple[str | None, str]:
    # A raw password pasted from the dashboard may hold '@', '/', '?' or '#', so the first '@'
    # need not end the credentials; a query value may hold '@' as well
    # (`sslrootcert=/home/ops@corp/ca.crt`), so the last need not either, and taking it would
    # send the password to a host named in the query. The credentials end at the first
    # candidate (none at all, then each '@' from left to right) after which the rest reads as
    # a LOCATION. '#' means nothing to libpq, nor to this parser, so it ends no host here.
    candidates = [(None, rest)] + [
        (rest[:at], rest[at + 1 :]) for at, char in enumerate(rest) if char == "@"
    ]
    for userinfo, hostpart in candidates:
        if LOCATION.fullmatch(hostpart):
            return userinfo, hostpart
    # Nothing reads as a location: what follows the last '@' holds no credentials, so the
    # errors found in it can be shown.
    return candidates[-1]


def _split_location(location: str) -> tuple[str, int, str]:
    netloc, _, database = location.partition("/")
    if "," in netloc:
        raise DatabaseUrlError("DATABASE_URL names several hosts; give exactly one")
    host, port_text = _split_netloc(netloc)
    return unquote(host), _port(port_text), unquote(database)


def _split_netloc(netloc: str) -> tuple[str, str]:
    if not netloc.startswith("["):
        host, _, port_text = netloc.partition(":")
        return host, port_text
    host, bracket, tail = netloc[1:].partition("]")
    if not bracket or (tail and not tail.startswith(":")):
        raise DatabaseUrlError(f"DATABASE_URL has an invalid IPv6 host: {netloc!r}")
    return host, tail[1:]


def _port(text: str) -> int:
    if not text:
        return DEFAULT_PORT
    if not text.isdigit():
        # Likely a password whose ':' or '@' confused the split: never echo it.
        raise DatabaseUrlError("DATABASE_URL has a port that is not a number")
    if not 0 < int(text) < 65536:
        raise DatabaseUrlError(f"DATABASE_URL has an invalid port: {text}")
    return int(text)


def _parse_query(query_string: str) -> dict[str, str]:
    # libpq percent-decodes parameter values but, unlike HTML forms, keeps '+' as is.
    query = {}
    for pair in filter(None, query_string.split("&")):
        key, _, value = pair.partition("=")
        query[unquote(key)] = unquote(value)
    return query


def _connect_args(query: dict[str, str], mode: PoolMode) -> dict[str, Any]:
    unsupported = set(query) - SUPPORTED_PARAMETERS - IGNORED_PARAMETERS
    if unsupported:
        raise DatabaseUrlError(
            f"DATABASE_URL has unsupported parameters: {', '.join(sorted(unsupported))} "
            f"(supported: {', '.join(sorted(SUPPORTED_PARAMETERS))})"
        )
    args: dict[str, Any] = {"timeout": _timeout(query.get("connect_timeout"))}
    if (sslmode := query.get("sslmode")) is not None:
        args["ssl"] = ssl_for(sslmode, query.get("sslrootcert"))
    if server_settings := _server_settings(query):
        args["server_settings"] = server_settings
    if mode == "transaction":
        args.update(transaction_pooler_args())
    return args


def transaction_pooler_args() -> dict[str, Any]:
    """Connect arguments that keep prepared statements from leaking between pooled clients."""
    # A transaction pooler hands each transaction to any server connection, so a named
    # prepared statement outlives its client there: a cached or counter-named one is missing
    # (or someone else's) on the next server, and even a uniquely named one is left behind,
    # one per transaction, piling up in the server's memory. With asyncpg's statement cache
    # off, the unnamed statement is parsed again in the same batch as its Bind/Execute/Sync,
    # so nothing survives the hand-off; SQLAlchemy's cache off and an explicit empty name
    # keep it so whatever the defaults. The first argument is asyncpg's, the others
    # SQLAlchemy's asyncpg dialect's.
    return {
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": unnamed_statement,
    }


def unnamed_statement() -> str:
    """The protocol's unnamed prepared statement: replaced by the next one, never left behind."""
    return ""


def _timeout(text: str | None) -> float:
    if not text:
        return DEFAULT_CONNECT_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0
    if not seconds > 0:
        raise DatabaseUrlError(
            f"DATABASE_URL connect_timeout must be a positive number of seconds (got {text!r})"
        )
    return seconds


def _server_settings(query: dict[str, str]) -> dict[str, str]:
    settings = _parse_options(query.get("options", ""))
    if name := query.get("application_name"):
        settings["application_name"] = name
    return settings


def _parse_options(options: str) -> dict[str, str]:
    """libpq's `options=-c name=value …` as server settings."""
    settings = {}
    words = iter(options.split())
    for word in words:
        switch = "-c" + next(words, "") if word == "-c" else word
        name, equals, value = switch[2:].partition("=")
        if switch[:2] not in {"-c", "--"} or not name or not equals:
            raise DatabaseUrlError(f"DATABASE_URL options must be '-c name=value' (got {word!r})")
        settings[name.replace("-", "_")] = value
    return settings


def ssl_for(sslmode: str, rootcert: str | None = None) -> ssl.SSLContext | str | bool:
    """libpq's sslmode semantics as asyncpg's `ssl` argument."""
    _check_ssl_parameters(sslmode, rootcert)
    if sslmode == "disable":
        return False
    if sslmode in {"allow", "prefer"}:
        return sslmode
    context = _ssl_context(rootcert)
    if sslmode == "verify-full":
        return context
    # `verify-ca`, and libpq's `require` given a root certificate: the chain, not the name.
    context.check_hostname = False
    if sslmode == "require" and rootcert is None:
        # libpq's plain `require`: encrypted, but the server's certificate is not checked.
        context.verify_mode = ssl.CERT_NONE
    return context


def _check_ssl_parameters(sslmode: str, rootcert: str | None) -> None:
    if sslmode not in SSL_MODES:
        raise DatabaseUrlError(f"unknown sslmode {sslmode!r} (use one of {', '.join(SSL_MODES)})")
    if rootcert is None:
        return
    if sslmode in {"disable", "allow", "prefer"}:
        raise DatabaseUrlError(
            f"sslrootcert needs sslmode=require, verify-ca or verify-full (got {sslmode!r})"
        )
    if rootcert == SYSTEM_ROOTCERT and sslmode != "verify-full":
        raise DatabaseUrlError("sslrootcert=system needs sslmode=verify-full, as in libpq")


def _ssl_context(rootcert: str | None) -> ssl.SSLContext:
    cafile = None if rootcert in {None, SYSTEM_ROOTCERT} else rootcert
    try:
        return ssl.create_default_context(cafile=cafile)
    except FileNotFoundError as error:
        raise DatabaseUrlError(f"sslrootcert file not found: {rootcert}") from error
    except (ssl.SSLError, OSError) as error:
        raise DatabaseUrlError(f"sslrootcert is not a usable certificate: {rootcert}") from error
