"""`make bench` explains what one request of each scenario runs, whichever layer runs it."""

from bench.explain import explain_api
from bench.scenarios import Scenario, get
from tests.support import TEST_JWT_SECRET


async def test_every_read_is_explained_with_its_plan(database_url: str) -> None:
    """Lists, tags and /health read on asyncpg itself, outside SQLAlchemy's events."""
    scenarios = [
        Scenario("list_posts", "api", get("/api/v1/posts")),
        Scenario("list_by_tag", "api", get("/api/v1/posts?tag=python")),
        Scenario("tags", "api", get("/api/v1/tags")),
        Scenario("health", "api", get("/health")),
    ]

    plans = await explain_api(database_url, TEST_JWT_SECRET, scenarios)

    assert set(plans) == {scenario.name for scenario in scenarios}
    for name, explained in plans.items():
        assert len(explained) == 1, (name, explained)
        [plan] = explained
        assert any("actual time" in line for line in plan["plan"]), (name, plan)
    assert "FROM posts" in plans["list_posts"][0]["sql"]
    assert "FROM tags" in plans["tags"][0]["sql"]
