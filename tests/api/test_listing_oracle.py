"""The post list, paged to its end, against a plain SQL query over the same random data.

Each case writes posts through the API, gives many of them one of a few publication times
(ties, and two times a microsecond apart), changes them at random through the API (publish,
unpublish, retag, retitle, delete), then follows `next_cursor` for random filters and limits:
every page must be what the query below returns, in its order, nothing repeated or skipped.
"""

import random
from datetime import datetime
from typing import Any

import pytest
from httpx import AsyncClient
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.api.factories import POSTS, create_post, every_page
from tests.conftest import Accounts
from tests.support import column, run_sql

WORDS = ("index", "indexes", "cat", "cats", "running", "run", "the", "or", "python", "rust",
         "gin", "b-tree", "naïve", "café")  # fmt: skip
# Names that differ only in case, that share a slug, and beyond ASCII.
TAGS = ("Python", "python", "SQL", "C", "C++", "Machine Learning", "Ça", "çà", "über", "Go",
        "go lang", "Go-Lang")  # fmt: skip
# What a filter may name besides those: slugs, unknown tags, an empty one.
OTHER_TAGS = ("", "nothing", "machine-learning", "c", "go-lang", "ca", "uber")
# websearch syntax: negation, phrases, OR, stop words alone, stems, accents.
QUERIES = ("cat", "cats -run", '"run python"', "cat or rust", "the", "-cat", "python OR",
           "index", "café", "naive", "b-tree", "gin -gin", '"the cat"', "or", "run -")  # fmt: skip
TIMES = tuple(
    datetime.fromisoformat(at)
    for at in ("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-02T00:00:00.000001Z")
)
LIMITS = (1, 2, 3, 7, 100)
# The list's meaning, written plainly: each tag by slug, else by name in any case.
EXPECTED = """
SELECT slug FROM posts p
WHERE p.is_published
  AND (SELECT bool_and(EXISTS (
         SELECT FROM post_tags pt
         WHERE pt.post_id = p.id
           AND pt.tag_id = coalesce((SELECT id FROM tags WHERE slug = wanted),
                                    (SELECT id FROM tags WHERE lower(name) = lower(wanted)))))
       FROM unnest(CAST(:tags AS text[])) AS wanted) IS NOT FALSE
  AND (CAST(:author AS uuid) IS NULL OR p.author_id = :author)
  AND (CAST(:q AS text) IS NULL
       OR to_tsvector('english', p.title || ' ' || p.content)
          @@ websearch_to_tsquery('english', :q))
ORDER BY p.published_at DESC, p.id DESC
"""


async def write_posts(
    client: AsyncClient, accounts: Accounts, session: AsyncSession, rng: random.Random
) -> tuple[list[str], list[tuple[str, dict[str, str]]]]:
    """Three authors' posts, half of the published ones moved to a shared time: the authors'
    ids, and each post's slug with its author's headers."""
    authors = [await accounts.new() for _ in range(3)]
    posts = []
    for n in range(30):
        _, headers = rng.choice(authors)
        content = " ".join(rng.choices(WORDS, k=rng.randint(0, 6)))
        tags = rng.sample(TAGS, rng.randint(0, 3))
        published = rng.random() < 0.75
        post = await create_post(
            client, headers, f"{rng.choice(WORDS)} {n}", content=content, tags=tags,
            published=published,
        )  # fmt: skip
        posts.append((post["slug"], headers))
        if published and rng.random() < 0.5:
            move = "UPDATE posts SET published_at = :at WHERE slug = :slug"
            await run_sql(session, move, at=rng.choice(TIMES), slug=post["slug"])
    await session.commit()
    return [str(author_id) for author_id, _ in authors], posts


def random_change(rng: random.Random) -> dict[str, Any] | None:
    """A PATCH body, or None for a deletion."""
    body: dict[str, Any] = {}
    if rng.random() < 0.15:
        return None
    if rng.random() < 0.6:
        body["published"] = rng.random() < 0.5
    if rng.random() < 0.6:
        body["tags"] = rng.sample(TAGS, rng.randint(0, 4))
    if rng.random() < 0.3:
        body["title"] = f"{rng.choice(WORDS)} again"
    if rng.random() < 0.3:
        body["content"] = " ".join(rng.sample(WORDS, 3))
    return body


@pytest.mark.parametrize("seed", range(8))
async def test_every_page_of_every_filter_is_what_the_query_returns(
    client: AsyncClient, accounts: Accounts, session: AsyncSession, seed: int
) -> None:
    rng = random.Random(seed)  # noqa: S311  # reproducible test data, no secret
    authors, posts = await write_posts(client, accounts, session, rng)
    for _ in range(25):
        slug, headers = rng.choice(posts)
        change = random_change(rng)
        if change is None:
            response = await client.delete(f"{POSTS}/{slug}", headers=headers)
        else:
            response = await client.patch(f"{POSTS}/{slug}", json=change, headers=headers)
        assert response.status_code in (200, 204, 404), response.text  # 404: deleted before

    for _ in range(40):
        tags = rng.sample(TAGS + OTHER_TAGS, rng.choice([0, 0, 1, 1, 2, 3]))
        author = rng.choice(authors) if rng.random() < 0.3 else None
        q = rng.choice(QUERIES) if rng.random() < 0.4 else None
        filters = {
            name: value for name, value in (("tag", tags), ("author", author), ("q", q)) if value
        }
        expected = await column(session, EXPECTED, tags=tags, author=author, q=q)
        assert await every_page(client, filters, limit=rng.choice(LIMITS)) == expected, filters
