"""The harness itself: its own variables, and a TEST_DATABASE_URL whose database is missing."""

import asyncpg

from db.url import asyncpg_arguments, parse_database_url
from tests.conftest import settings_variables
from tests.support import create_missing_database, drop_database, side_database_name


async def databases_named(url: str, name: str) -> int:
    connection = await asyncpg.connect(**asyncpg_arguments(url))
    try:
        found = await connection.fetchval(
            "SELECT count(*) FROM pg_database WHERE datname = $1", name
        )
    finally:
        await connection.close()
    return int(found)


async def test_a_missing_test_database_is_created_and_an_existing_one_kept(
    direct_url: str,
) -> None:
    name = side_database_name(direct_url, "missing")
    url = parse_database_url(direct_url).with_database(name)
    await drop_database(direct_url, "missing")
    try:
        await create_missing_database(url)
        assert await databases_named(direct_url, name) == 1
        await create_missing_database(url)
        assert await databases_named(direct_url, name) == 1
    finally:
        await drop_database(direct_url, "missing")


def test_the_harness_variables_are_not_swept_out_with_the_developer_settings() -> None:
    harness = ["TEST_DATABASE_URL", "TEST_FUZZ_EXAMPLES", "TEST_FUZZ_SEED", "TEST_FUZZ_REPORT"]
    settings = ["QUIRE_ENVIRONMENT", "DATABASE_URL", "SUPABASE_URL", "APP"]
    assert settings_variables(harness + settings) == settings
