"""The engine the app builds: what its defaults promise, and sessions that outlive a commit."""

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import create_sessionmaker
from db.models import Tag
from db.pool import FairAsyncQueuePool


async def test_the_apps_engine_gives_up_waiting_after_5_seconds_and_logs_no_sql(
    app: FastAPI,
) -> None:
    """The lifespan leaves the pool's timeout and echo to the defaults, so they are what
    production runs: a drained pool answers 503 within 5 s, and no statement or parameter is
    logged."""
    engine: AsyncEngine = app.state.engine
    assert isinstance(engine.pool, FairAsyncQueuePool)
    assert engine.pool.timeout() == 5.0
    assert engine.echo is False


async def test_objects_stay_readable_after_a_commit(engine: AsyncEngine) -> None:
    """A sign-in commits in the middle of a request, then the route reads the user: an
    expired object would need a lazy load, which fails under asyncio (a 500)."""
    async with engine.connect() as connection:
        outer = await connection.begin()
        make_session = create_sessionmaker(engine)
        async with make_session(bind=connection, join_transaction_mode="create_savepoint") as s:
            tag = Tag(name="expiry probe", slug="expiry-probe")
            s.add(tag)
            await s.commit()
            assert tag.slug == "expiry-probe"
        await outer.rollback()
