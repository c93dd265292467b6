"""Connection strings as Supabase's dashboard hands them out, translated for asyncpg."""

import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from db.url import DatabaseUrlError, parse_database_url, unnamed_statement

REF = "abcdefghijklmnopqrst"
DIRECT = f"postgresql://postgres:secret@db.{REF}.supabase.co:5432/postgres"
SESSION_POOLER = (
    f"postgresql://postgres.{REF}:secret@aws-0-eu-central-1.pooler.supabase.com:5432/postgres"
)
TRANSACTION_POOLER = (
    f"postgresql://postgres.{REF}:secret@aws-0-eu-central-1.pooler.supabase.com:6543/postgres"
)
POOLER_ARGS = ("statement_cache_size", "prepared_statement_cache_size")


# --- schemes and Supabase's three connection strings -------------------------------------


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+asyncpg", "POSTGRES"])
def test_every_postgres_scheme_gets_the_asyncpg_driver(scheme: str) -> None:
    target = parse_database_url(f"{scheme}://postgres@localhost/quire")
    assert target.url.drivername == "postgresql+asyncpg"
    assert target.url.database == "quire"


@pytest.mark.parametrize("raw", ["mysql://root@localhost/quire", "localhost:5432/quire", ""])
def test_other_schemes_are_refused(raw: str) -> None:
    with pytest.raises(DatabaseUrlError, match=r"postgresql:// or postgres://"):
        parse_database_url(raw)


def test_a_string_without_scheme_is_never_echoed() -> None:
    with pytest.raises(DatabaseUrlError) as raised:
        parse_database_url("postgres:hunter2@db.example.com/quire")
    assert "hunter2" not in str(raised.value)


def test_direct_connection() -> None:
    target = parse_database_url(DIRECT)
    assert (target.url.host, target.url.port) == (f"db.{REF}.supabase.co", 5432)
    assert (target.url.username, target.url.password) == ("postgres", "secret")
    assert target.url.database == "postgres"
    assert target.pool_mode == "session"
    assert not set(POOLER_ARGS) & set(target.connect_args)


def test_session_pooler_keeps_the_project_ref_in_the_user_name() -> None:
    target = parse_database_url(SESSION_POOLER)
    assert target.url.username == f"postgres.{REF}"
    assert target.url.host == "aws-0-eu-central-1.pooler.supabase.com"
    assert target.url.port == 5432
    assert target.pool_mode == "session"
    assert "prepared_statement_name_func" not in target.connect_args


def test_transaction_pooler_disables_statement_caches_and_statement_names() -> None:
    target = parse_database_url(TRANSACTION_POOLER)
    assert target.url.username == f"postgres.{REF}"
    assert target.url.port == 6543
    assert target.is_transaction_pooler
    assert target.connect_args["statement_cache_size"] == 0
    assert target.connect_args["prepared_statement_cache_size"] == 0
    assert target.connect_args["prepared_statement_name_func"] is unnamed_statement
    assert unnamed_statement() == ""


def test_pool_mode_transaction_overrides_the_port() -> None:
    """DATABASE_POOL_MODE=transaction: a transaction pooler on another port (PgBouncer's 6432)."""
    target = parse_database_url(
        "postgresql://postgres@127.0.0.1:6432/quire", pool_mode="transaction"
    )
    assert target.is_transaction_pooler
    assert target.connect_args["statement_cache_size"] == 0


def test_pool_mode_session_overrides_port_6543() -> None:
    target = parse_database_url(TRANSACTION_POOLER, pool_mode="session")
    assert not target.is_transaction_pooler
    assert not set(POOLER_ARGS) & set(target.connect_args)


# --- hosts, ports, databases ---------------------------------------------------------------


def test_defaults_without_port_or_credentials() -> None:
    target = parse_database_url("postgresql://localhost/quire")
    assert target.url.port == 5432
    assert target.url.username is None
    assert target.url.password is None


def test_user_without_password() -> None:
    target = parse_database_url("postgresql://postgres@localhost/quire")
    assert (target.url.username, target.url.password) == ("postgres", None)


def test_ipv6_host() -> None:
    target = parse_database_url("postgresql://postgres:pw@[2001:db8::1]:6543/postgres")
    assert (target.url.host, target.url.port) == ("2001:db8::1", 6543)
    assert target.is_transaction_pooler


def test_ipv6_host_without_port() -> None:
    target = parse_database_url("postgresql://postgres:pw@[2001:db8::1]/postgres")
    assert (target.url.host, target.url.port) == ("2001:db8::1", 5432)


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("db.example.com:port", "not a number"),
        ("db.example.com:0", "invalid port: 0"),
        ("db.example.com:65536", "invalid port: 65536"),
        ("db.example.com:70000", "invalid port: 70000"),
        ("a.example.com:5432,b.example.com:5432", "several hosts"),
        ("[2001:db8::1", "invalid IPv6 host"),
        ("[2001:db8::1]5432", "invalid IPv6 host"),
    ],
)
def test_bad_locations_are_refused(location: str, message: str) -> None:
    with pytest.raises(DatabaseUrlError, match=message):
        parse_database_url(f"postgresql://postgres:pw@{location}/quire")


def test_dashboard_placeholder_password_is_refused() -> None:
    with pytest.raises(DatabaseUrlError, match=r"replace it with the database password"):
        parse_database_url(DIRECT.replace("secret", "[YOUR-PASSWORD]"))


# --- passwords -------------------------------------------------------------------------------

RAW_PASSWORDS = [
    "p@ss",
    "p:ss",
    "p/ss",
    "p?ss",
    "p#ss",
    "p%ss",
    "p ss",
    "100%",
    "a+b=c&d",
    "[]{}'\"!$^*",
    "@:/?#% all@once:/?#%",
    "p@1.2/x",
    "5432/x",
    "5432#x",
    # After an '@', what reads as a host, a database and a query that is not one.
    "p@ss/wo?rd-SECRET",
    "pa@ss?word",
    "a@b?sslmode=disable",
    "a@b/c?application_name=x?y",
]


@pytest.mark.parametrize("password", RAW_PASSWORDS)
@pytest.mark.parametrize(
    ("suffix", "parameters"),
    [
        ("", {}),
        ("?sslmode=require", {"sslmode": "require"}),
        (
            "?sslmode=require&application_name=me@laptop",
            {"sslmode": "require", "application_name": "me@laptop"},
        ),
    ],
)
def test_raw_passwords_with_url_special_characters(
    password: str, suffix: str, parameters: dict[str, str]
) -> None:
    target = parse_database_url(
        f"postgresql://postgres.{REF}:{password}@aws-0-eu-central-1.pooler.supabase.com:6543/postgres{suffix}"
    )
    assert target.url.password == password
    assert target.url.username == f"postgres.{REF}"
    assert (target.url.host, target.url.port, target.url.database) == (
        "aws-0-eu-central-1.pooler.supabase.com",
        6543,
        "postgres",
    )
    assert target.parameters == parameters
    assert ("ssl" in target.connect_args) == bool(suffix)


@pytest.mark.parametrize("password", [*RAW_PASSWORDS, "%41", "é ü"])
def test_percent_encoded_passwords_are_decoded(password: str) -> None:
    target = parse_database_url(f"postgresql://postgres:{quote(password, safe='')}@host/quire")
    assert target.url.password == password


@pytest.mark.parametrize(
    ("userinfo", "user", "password"),
    [("", None, None), ("postgres@", "postgres", None), ("postgres:pw@", "postgres", "pw")],
)
def test_an_at_sign_in_a_query_value_does_not_end_the_credentials(
    userinfo: str, user: str | None, password: str | None
) -> None:
    target = parse_database_url(
        f"postgresql://{userinfo}127.0.0.1:54402/db?application_name=me@laptop"
    )
    arguments = target.asyncpg_arguments()
    assert (arguments["user"], arguments["password"]) == (user, password)
    assert (arguments["host"], arguments["port"], arguments["database"]) == (
        "127.0.0.1",
        54402,
        "db",
    )
    assert arguments["server_settings"] == {"application_name": "me@laptop"}


def test_a_raw_password_and_a_query_value_both_with_at_signs() -> None:
    arguments = parse_database_url(
        "postgresql://postgres.ref:p@1.2/x@ss@db.example.com:6543/postgres"
        "?application_name=me@laptop&options=-c%20search_path=a@b"
    ).asyncpg_arguments()
    assert (arguments["user"], arguments["password"]) == ("postgres.ref", "p@1.2/x@ss")
    assert (arguments["host"], arguments["port"], arguments["database"]) == (
        "db.example.com",
        6543,
        "postgres",
    )
    assert arguments["server_settings"] == {"application_name": "me@laptop", "search_path": "a@b"}


def test_a_raw_password_with_at_and_slash_in_a_url_without_database() -> None:
    target = parse_database_url("postgresql://postgres:pa@h/x@db.example.com?sslmode=require")
    assert (target.url.password, target.url.host) == ("pa@h/x", "db.example.com")
    assert target.url.database is None


def test_a_url_without_any_at_sign_has_no_credentials() -> None:
    target = parse_database_url("postgresql://db.example.com:6543/quire?sslmode=require")
    assert (target.url.username, target.url.password) == (None, None)
    assert (target.url.host, target.url.port, target.url.database) == (
        "db.example.com",
        6543,
        "quire",
    )
    assert target.is_transaction_pooler
    assert "ssl" in target.connect_args


def test_several_hosts_are_refused_even_with_an_at_sign_in_the_query() -> None:
    with pytest.raises(DatabaseUrlError, match="several hosts"):
        parse_database_url("postgresql://postgres:pw@a.example.com,b.example.com/q?options=x@y")


def test_percent_encoded_user_and_database() -> None:
    target = parse_database_url("postgresql://app%40team:pw@host/my%20db")
    assert (target.url.username, target.url.database) == ("app@team", "my db")


def test_password_survives_sqlalchemy_rendering() -> None:
    """The URL object goes to SQLAlchemy as is; rendering and re-parsing keeps the password."""
    from sqlalchemy.engine import make_url

    password = "@:/?#% all@once"
    target = parse_database_url(f"postgresql://postgres:{password}@host/quire")
    assert make_url(target.url.render_as_string(hide_password=False)).password == password


def test_another_database_on_the_same_server_keeps_the_credentials() -> None:
    target = parse_database_url("postgresql://postgres.ref:p%40ss@db.example.com:6543/postgres")
    other = parse_database_url(target.with_database("quire_test_cli"))
    assert (other.url.username, other.url.password) == ("postgres.ref", "p@ss")
    assert (other.url.host, other.url.port, other.url.database) == (
        "db.example.com",
        6543,
        "quire_test_cli",
    )


def test_redacted_url_hides_the_password() -> None:
    redacted = parse_database_url("postgresql://postgres:hunter2@host:6543/quire").redacted()
    assert "hunter2" not in redacted
    assert redacted == "postgresql://postgres:***@host:6543/quire"


# --- sslmode -----------------------------------------------------------------------------------


def test_no_sslmode_leaves_asyncpg_its_default() -> None:
    assert "ssl" not in parse_database_url(DIRECT).connect_args


@pytest.mark.parametrize(
    ("sslmode", "expected"), [("disable", False), ("allow", "allow"), ("prefer", "prefer")]
)
def test_opportunistic_sslmodes(sslmode: str, expected: object) -> None:
    target = parse_database_url(f"{DIRECT}?sslmode={sslmode}")
    assert target.connect_args["ssl"] == expected


@pytest.mark.parametrize(
    ("sslmode", "check_hostname", "verify_mode"),
    [
        ("require", False, ssl.CERT_NONE),
        ("verify-ca", False, ssl.CERT_REQUIRED),
        ("verify-full", True, ssl.CERT_REQUIRED),
    ],
)
def test_encrypted_sslmodes_become_ssl_contexts(
    sslmode: str, check_hostname: bool, verify_mode: ssl.VerifyMode
) -> None:
    context = parse_database_url(f"{TRANSACTION_POOLER}?sslmode={sslmode}").connect_args["ssl"]
    assert isinstance(context, ssl.SSLContext)
    assert context.check_hostname is check_hostname
    assert context.verify_mode == verify_mode


def test_unknown_sslmode_is_refused() -> None:
    with pytest.raises(DatabaseUrlError, match=r"unknown sslmode 'required'.*verify-full"):
        parse_database_url(f"{DIRECT}?sslmode=required")


def test_an_empty_sslmode_is_refused_not_dropped() -> None:
    # `?sslmode=${PGSSLMODE}` with the variable unset: asking for nothing is not asking for
    # asyncpg's default.
    with pytest.raises(DatabaseUrlError, match=r"unknown sslmode ''"):
        parse_database_url(f"{DIRECT}?sslmode=")


# --- sslrootcert: a throwaway CA, and real TLS handshakes in memory --------------------------


@dataclass(frozen=True)
class Authority:
    """A certificate authority made for the test, and a server certificate it signed."""

    root_pem: Path
    server_cert: x509.Certificate
    server_key: ec.EllipticCurvePrivateKey

    def server_context(self) -> ssl.SSLContext:
        cert, key = self.root_pem.with_name("server.crt"), self.root_pem.with_name("server.key")
        cert.write_bytes(self.server_cert.public_bytes(serialization.Encoding.PEM))
        key.write_bytes(
            self.server_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        return context


SERVER_NAME = "db.quire.test"


def make_authority(directory: Path, name: str) -> Authority:
    directory.mkdir()
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    ca_cert = (
        _certificate(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAME)])
    server_cert = (
        _certificate(server_name, ca_name, server_key.public_key(), now)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(SERVER_NAME), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    root_pem = directory / "root.crt"
    root_pem.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return Authority(root_pem, server_cert, server_key)


def _certificate(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePublicKey, now: datetime.datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    return make_authority(tmp_path_factory.mktemp("tls") / "ca", "Quire Test Root CA")


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    """Another CA: its server certificate must not pass a check against `authority`."""
    return make_authority(tmp_path_factory.mktemp("tls") / "other", "Someone Else's CA")


def handshake(client: ssl.SSLContext, server: ssl.SSLContext, hostname: str) -> None:
    """A complete TLS handshake in memory; raises what the client's checks raise."""
    client_in, client_out, server_in, server_out = (ssl.MemoryBIO() for _ in range(4))
    client_side = client.wrap_bio(client_in, client_out, server_hostname=hostname)
    server_side = server.wrap_bio(server_in, server_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(10):
        for name, side, outgoing, peer_incoming in (
            ("client", client_side, client_out, server_in),
            ("server", server_side, server_out, client_in),
        ):
            if not done[name]:
                try:
                    side.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
            peer_incoming.write(outgoing.read())
        if all(done.values()):
            return
    raise AssertionError("the TLS handshake did not finish")


def ssl_context(url: str) -> ssl.SSLContext:
    context = parse_database_url(url).connect_args["ssl"]
    assert isinstance(context, ssl.SSLContext)
    return context


def test_sslrootcert_is_the_only_trusted_root(authority: Authority) -> None:
    context = ssl_context(f"{DIRECT}?sslmode=verify-full&sslrootcert={authority.root_pem}")
    subjects = [ca["subject"] for ca in context.get_ca_certs()]
    assert subjects == [((("commonName", "Quire Test Root CA"),),)]


def test_verify_full_accepts_the_ca_signed_server(authority: Authority) -> None:
    context = ssl_context(f"{DIRECT}?sslmode=verify-full&sslrootcert={authority.root_pem}")
    handshake(context, authority.server_context(), SERVER_NAME)


def test_verify_full_refuses_another_host_name(authority: Authority) -> None:
    context = ssl_context(f"{DIRECT}?sslmode=verify-full&sslrootcert={authority.root_pem}")
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        handshake(context, authority.server_context(), "db.elsewhere.test")


def test_verify_full_refuses_a_server_from_another_ca(
    authority: Authority, stranger: Authority
) -> None:
    context = ssl_context(f"{DIRECT}?sslmode=verify-full&sslrootcert={authority.root_pem}")
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
        handshake(context, stranger.server_context(), SERVER_NAME)


@pytest.mark.parametrize("sslmode", ["verify-ca", "require"])
def test_chain_checked_but_not_the_name(
    sslmode: str, authority: Authority, stranger: Authority
) -> None:
    """verify-ca, and libpq's require when given a root certificate."""
    context = ssl_context(f"{DIRECT}?sslmode={sslmode}&sslrootcert={authority.root_pem}")
    handshake(context, authority.server_context(), "db.elsewhere.test")
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(context, stranger.server_context(), SERVER_NAME)


def test_require_without_root_certificate_encrypts_without_checking(stranger: Authority) -> None:
    context = ssl_context(f"{DIRECT}?sslmode=require")
    handshake(context, stranger.server_context(), "db.elsewhere.test")


def test_sslrootcert_alone_means_verify_full(authority: Authority) -> None:
    context = ssl_context(f"{DIRECT}?sslrootcert={authority.root_pem}")
    assert context.check_hostname is True
    assert context.verify_mode == ssl.CERT_REQUIRED


def test_sslrootcert_path_may_be_percent_encoded(authority: Authority) -> None:
    encoded = quote(str(authority.root_pem), safe="")
    context = ssl_context(f"{DIRECT}?sslmode=verify-full&sslrootcert={encoded}")
    assert len(context.get_ca_certs()) == 1


SUPABASE_POOLER_WITH_ROOTCERT = (
    "postgresql://postgres.ref:pw@aws-0-eu-west-1.pooler.supabase.com:6543/postgres"
    "?sslmode=verify-full&sslrootcert={rootcert}"
)


def test_sslrootcert_path_with_an_at_sign_stays_a_parameter(
    authority: Authority, tmp_path: Path
) -> None:
    rootcert = tmp_path / "ops@corp" / "prod-ca-2021.crt"
    rootcert.parent.mkdir()
    rootcert.write_bytes(authority.root_pem.read_bytes())

    target = parse_database_url(SUPABASE_POOLER_WITH_ROOTCERT.format(rootcert=rootcert))

    arguments = target.asyncpg_arguments()
    assert (arguments["user"], arguments["password"]) == ("postgres.ref", "pw")
    assert (arguments["host"], arguments["port"], arguments["database"]) == (
        "aws-0-eu-west-1.pooler.supabase.com",
        6543,
        "postgres",
    )
    assert target.pool_mode == "transaction"
    assert arguments["statement_cache_size"] == 0
    assert target.parameters == {"sslmode": "verify-full", "sslrootcert": str(rootcert)}
    context = arguments["ssl"]
    assert isinstance(context, ssl.SSLContext)
    assert context.check_hostname is True
    assert [ca["subject"] for ca in context.get_ca_certs()] == [
        ((("commonName", "Quire Test Root CA"),),)
    ]


def test_missing_sslrootcert_with_an_at_sign_is_reported_not_taken_for_a_host() -> None:
    with pytest.raises(DatabaseUrlError, match=r"not found: /home/ops@corp/prod-ca-2021\.crt$"):
        parse_database_url(
            SUPABASE_POOLER_WITH_ROOTCERT.format(rootcert="/home/ops@corp/prod-ca-2021.crt")
        )


def test_sslrootcert_system_uses_the_default_trust_store() -> None:
    context = ssl_context(f"{DIRECT}?sslmode=verify-full&sslrootcert=system")
    assert context.check_hostname is True
    assert context.verify_mode == ssl.CERT_REQUIRED


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "sslmode=verify-full&sslrootcert=/nonexistent/root.crt",
            "file not found: /nonexistent/root.crt",
        ),
        ("sslmode=prefer&sslrootcert=/tmp/root.crt", "sslrootcert needs sslmode=require"),
        ("sslmode=disable&sslrootcert=/tmp/root.crt", "sslrootcert needs sslmode=require"),
        ("sslmode=require&sslrootcert=system", "sslrootcert=system needs sslmode=verify-full"),
    ],
)
def test_unusable_sslrootcert_is_refused(query: str, message: str) -> None:
    with pytest.raises(DatabaseUrlError, match=message):
        parse_database_url(f"{DIRECT}?{query}")


def test_sslrootcert_that_is_not_a_certificate_is_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "root.crt"
    garbage.write_text("not a certificate\n")
    with pytest.raises(DatabaseUrlError, match="not a usable certificate"):
        parse_database_url(f"{DIRECT}?sslmode=verify-full&sslrootcert={garbage}")


# --- other parameters ----------------------------------------------------------------------------


def test_connect_timeout() -> None:
    assert parse_database_url(DIRECT).connect_args["timeout"] == 5.0
    assert parse_database_url(f"{DIRECT}?connect_timeout=12").connect_args["timeout"] == 12.0


@pytest.mark.parametrize("value", ["soon", "0", "-1", "nan"])
def test_bad_connect_timeout_is_refused(value: str) -> None:
    with pytest.raises(DatabaseUrlError, match="connect_timeout must be a positive number"):
        parse_database_url(f"{DIRECT}?connect_timeout={value}")


def test_application_name_and_options_become_server_settings() -> None:
    options = quote("-c search_path=quire,public -cstatement_timeout=5s --lock-timeout=2s")
    target = parse_database_url(f"{DIRECT}?application_name=quire+api&options={options}")
    assert target.connect_args["server_settings"] == {
        "application_name": "quire+api",
        "search_path": "quire,public",
        "statement_timeout": "5s",
        "lock_timeout": "2s",
    }


@pytest.mark.parametrize("options", ["-e", "-c", "search_path=public", "-c search_path"])
def test_options_other_than_settings_are_refused(options: str) -> None:
    with pytest.raises(DatabaseUrlError, match=r"options must be '-c name=value'"):
        parse_database_url(f"{DIRECT}?options={quote(options)}")


def test_parameters_other_clients_add_are_ignored() -> None:
    target = parse_database_url(
        f"{TRANSACTION_POOLER}?pgbouncer=true&connection_limit=1&pool_timeout=0&schema=public"
    )
    assert set(target.connect_args) == {"timeout", *POOLER_ARGS, "prepared_statement_name_func"}


@pytest.mark.parametrize("flag", ["true", "True"])
def test_a_url_marked_pgbouncer_is_a_transaction_pooler_on_any_port(flag: str) -> None:
    target = parse_database_url(f"postgresql://app:pw@bouncer.internal:6432/app?pgbouncer={flag}")
    assert target.pool_mode == "transaction"
    assert target.connect_args["statement_cache_size"] == 0
    assert parse_database_url(f"{DIRECT}?pgbouncer=false").pool_mode == "session"


def test_unsupported_parameters_are_refused_by_name() -> None:
    with pytest.raises(DatabaseUrlError) as raised:
        parse_database_url(f"{DIRECT}?sslmode=require&ssl=true&sslcert=/client.crt&target=x")
    message = str(raised.value)
    assert "unsupported parameters: ssl, sslcert, target" in message
    assert "supported: " in message
    assert "sslmode" in message.split("supported: ")[1]


def test_empty_query_is_fine() -> None:
    assert parse_database_url(f"{DIRECT}?").url.database == "postgres"


def test_libpq_tools_get_the_urls_connection_and_ssl_settings() -> None:
    """`make psql` verifies the server as the API does: sslmode and sslrootcert are kept."""
    target = parse_database_url(
        "postgresql://postgres.ref:p@ss:w0rd@aws-0-eu.pooler.supabase.com:5432/postgres"
        "?sslmode=require&application_name=quire"
    )

    assert target.libpq_environment() == {
        "PGHOST": "aws-0-eu.pooler.supabase.com",
        "PGPORT": "5432",
        "PGUSER": "postgres.ref",
        "PGPASSWORD": "p@ss:w0rd",
        "PGDATABASE": "postgres",
        "PGSSLMODE": "require",
        "PGAPPNAME": "quire",
    }


def test_a_root_certificate_alone_asks_libpq_tools_for_a_verified_server() -> None:
    target = parse_database_url("postgresql://u@db.example.com/app?sslrootcert=system")

    environment = target.libpq_environment()

    assert environment["PGSSLMODE"] == "verify-full"
    assert environment["PGSSLROOTCERT"] == "system"
    assert "PGPASSWORD" not in environment
