"""Races the API must win: each request has its own session and really commits."""

import asyncio

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.factories import create_post
from tests.api.races import execute, register, scalar, wait_for_lock_waits
from tests.support import bearer, make_token

CONCURRENCY = 20


async def test_concurrent_first_requests_create_one_user(
    live_client: AsyncClient, engine: AsyncEngine
) -> None:
    [(account_id, email)] = await register(engine)
    headers = bearer(make_token(account_id, email))
    responses = await asyncio.gather(
        *(live_client.get("/api/v1/users/me", headers=headers) for _ in range(CONCURRENCY))
    )
    assert {r.status_code for r in responses} == {200}
    rows = await scalar(engine, "SELECT count(*) FROM users WHERE id = :id", id=account_id)
    assert rows == 1


async def test_same_new_tag_from_concurrent_posts_is_one_row(
    live_client: AsyncClient, engine: AsyncEngine
) -> None:
    authors = await register(engine, CONCURRENCY)
    responses = await asyncio.gather(
        *(
            live_client.post(
                "/api/v1/posts",
                json={"title": f"Post {n}", "content": "c", "tags": ["Brand New Tag"]},
                headers=bearer(make_token(account_id, email)),
            )
            for n, (account_id, email) in enumerate(authors)
        )
    )
    assert [r.status_code for r in responses] == [201] * CONCURRENCY, responses[0].text
    assert (
        await scalar(engine, "SELECT count(*) FROM tags WHERE lower(name) = 'brand new tag'") == 1
    )
    assert await scalar(engine, "SELECT count(*) FROM post_tags") == CONCURRENCY


async def test_concurrent_posts_with_one_title_get_distinct_slugs(
    live_client: AsyncClient, engine: AsyncEngine
) -> None:
    [(account_id, email)] = await register(engine)
    headers = bearer(make_token(account_id, email))
    await live_client.get("/api/v1/users/me", headers=headers)
    responses = await asyncio.gather(
        *(
            live_client.post(
                "/api/v1/posts", json={"title": "Same Title", "content": "c"}, headers=headers
            )
            for _ in range(CONCURRENCY)
        )
    )
    assert [r.status_code for r in responses] == [201] * CONCURRENCY
    slugs = {r.json()["slug"] for r in responses}
    assert len(slugs) == CONCURRENCY
    assert "same-title" in slugs
    assert all(slug.startswith("same-title") for slug in slugs)


async def test_concurrent_reads_each_borrow_one_connection_and_return_it(
    live_client: AsyncClient, app: FastAPI
) -> None:
    """Lists, rankings and /health read on connections borrowed without a session; more
    requests than the pool holds wait their turn, and every connection comes back."""
    paths = ["/api/v1/posts", "/api/v1/tags", "/api/v1/authors/top", "/health"]
    pool = app.state.engine.sync_engine.pool
    responses = await asyncio.gather(
        *(live_client.get(paths[i % len(paths)]) for i in range(pool.size() * 3))
    )
    assert {response.status_code for response in responses} == {200}
    assert pool.checkedout() == 0


async def test_reads_through_the_engine_see_what_requests_committed(
    live_client: AsyncClient, engine: AsyncEngine
) -> None:
    """The production read path (no session, a borrowed connection) on rows that exist."""
    (ada, ada_email), (bob, bob_email) = await register(engine, 2)
    for account_id, email, title, tags in (
        (ada, ada_email, "First", ["Rust", "Go"]),
        (ada, ada_email, "Second", ["Rust"]),
        (bob, bob_email, "Third", ["Go"]),
    ):
        body = {"title": title, "content": f"{title} words", "tags": tags, "published": True}
        created = await live_client.post(
            "/api/v1/posts", json=body, headers=bearer(make_token(account_id, email))
        )
        assert created.status_code == 201, created.text

    listed = (await live_client.get("/api/v1/posts", params={"limit": 2})).json()
    assert [post["title"] for post in listed["items"]] == ["Third", "Second"]
    rest = await live_client.get("/api/v1/posts", params={"cursor": listed["next_cursor"]})
    assert [post["title"] for post in rest.json()["items"]] == ["First"]
    tagged = (await live_client.get("/api/v1/posts", params={"tag": "rust"})).json()
    assert [post["title"] for post in tagged["items"]] == ["Second", "First"]
    found = (await live_client.get("/api/v1/posts", params={"q": "third"})).json()
    assert [post["author"]["id"] for post in found["items"]] == [str(bob)]
    tags = (await live_client.get("/api/v1/tags")).json()
    assert [(tag["slug"], tag["post_count"]) for tag in tags] == [("go", 2), ("rust", 2)]
    authors = (await live_client.get("/api/v1/authors/top")).json()
    assert [(author["id"], author["post_count"]) for author in authors] == [
        (str(ada), 2),
        (str(bob), 1),
    ]


async def test_a_sign_in_that_refreshes_last_seen_leaves_the_author_unlocked(
    live_client: AsyncClient, engine: AsyncEngine
) -> None:
    """A request whose sign-in writes `last_seen_at` (a minute after the last one) does not
    hold the author's row while it waits for a post: another of the author's transactions
    that holds that post and publishes it updates the row (the published-post counter), and
    the two would wait for each other, a deadlock answered with a 409."""
    [(author, email)] = await register(engine)
    headers = bearer(make_token(author, email))
    created = await live_client.post(
        "/api/v1/posts", json={"title": "Contended", "content": "c"}, headers=headers
    )
    slug = created.json()["slug"]
    await execute(
        engine,
        "UPDATE users SET last_seen_at = now() - interval '2 minutes' WHERE id = :id",
        id=author,
    )
    async with engine.connect() as other:
        transaction = await other.begin()
        await other.execute(text("SELECT 1 FROM posts WHERE slug = :s FOR UPDATE"), {"s": slug})
        rename = asyncio.create_task(
            live_client.patch(f"/api/v1/posts/{slug}", json={"title": "Renamed"}, headers=headers)
        )
        await wait_for_lock_waits(other, 1)
        await other.execute(
            text("UPDATE posts SET is_published = true WHERE slug = :s"), {"s": slug}
        )
        await transaction.commit()
    response = await rename
    assert response.status_code == 200, response.text
    assert response.json()["published"] is True
    counted = await scalar(
        engine, "SELECT published_post_count FROM users WHERE id = :id", id=author
    )
    assert counted == 1


async def test_two_admins_cannot_remove_each_other_at_the_same_moment(
    live_client: AsyncClient, engine: AsyncEngine
) -> None:
    """Each checks that the other is not themselves; without a lock on the caller's row,
    admin A demoting B while B deactivates A left no active admin at all."""
    (a, a_email), (b, b_email) = await register(engine, 2)
    a_headers, b_headers = bearer(make_token(a, a_email)), bearer(make_token(b, b_email))
    for headers in (a_headers, b_headers):
        assert (await live_client.get("/api/v1/users/me", headers=headers)).status_code == 200
    await execute(engine, "UPDATE users SET role = 'admin' WHERE id IN (:a, :b)", a=a, b=b)
    async with engine.connect() as holder:
        transaction = await holder.begin()
        # Both requests read their caller, then wait here and go on together.
        lock = "SELECT 1 FROM users WHERE id IN (:a, :b) FOR UPDATE"
        await holder.execute(text(lock), {"a": a, "b": b})
        demote = asyncio.create_task(
            live_client.patch(f"/api/v1/admin/users/{b}", json={"role": "user"}, headers=a_headers)
        )
        deactivate = asyncio.create_task(
            live_client.patch(
                f"/api/v1/admin/users/{a}", json={"is_active": False}, headers=b_headers
            )
        )
        await wait_for_lock_waits(holder, 2)
        await transaction.rollback()
    statuses = sorted([(await demote).status_code, (await deactivate).status_code])
    assert statuses == [200, 403]
    admins = await scalar(engine, "SELECT count(*) FROM users WHERE role = 'admin' AND is_active")
    assert admins == 1


async def test_a_profile_deleted_while_an_avatar_change_waits_for_it_is_made_again(
    live_client: AsyncClient, engine: AsyncEngine
) -> None:
    """The change creates the profile if missing, then reads it locked. A profile deleted
    between those two statements (through the Data API, or with the account) left the read
    with no row, a 500; the change now creates the profile again."""
    [(account_id, email)] = await register(engine)
    headers = bearer(make_token(account_id, email))
    profile = "/api/v1/users/me/profile"
    assert (await live_client.put(profile, json={}, headers=headers)).status_code == 200
    async with engine.connect() as deleting:
        transaction = await deleting.begin()
        # The deletion, held so that it lands after the change has found the profile there.
        held = "SELECT 1 FROM user_profiles WHERE user_id = :id FOR UPDATE"
        await deleting.execute(text(held), {"id": account_id})
        avatar = {"avatar_url": "https://cdn.example.com/new.png"}
        change = asyncio.create_task(live_client.put(profile, json=avatar, headers=headers))
        await wait_for_lock_waits(deleting, 1)
        await deleting.execute(
            text("DELETE FROM user_profiles WHERE user_id = :id"), {"id": account_id}
        )
        await transaction.commit()
    response = await change
    assert response.status_code == 200, response.text
    assert response.json() == {"bio": None, **avatar}
    stored = await scalar(
        engine, "SELECT avatar_url FROM user_profiles WHERE user_id = :id", id=account_id
    )
    assert stored == avatar["avatar_url"]


async def two_authors(engine: AsyncEngine) -> tuple[dict[str, str], dict[str, str]]:
    """Headers for two newly registered accounts."""
    [(first, first_email), (second, second_email)] = await register(engine, 2)
    return bearer(make_token(first, first_email)), bearer(make_token(second, second_email))


async def publish_while_posting(
    live_client: AsyncClient,
    engine: AsyncEngine,
    heads: tuple[dict[str, str], dict[str, str]],
    draft_slug: str,
    tags: list[str],
    hold: str,
) -> None:
    """Publish the draft with `tags` (the first headers are its author's) while the second
    author posts with the same tags, both held back by `hold` (a lock on a tag, taken by
    another connection) until both wait: both succeed, and each tag counts both posts."""
    drafting, posting = heads
    async with engine.connect() as holding:
        transaction = await holding.begin()
        await holding.execute(text(hold))
        publication = asyncio.create_task(
            live_client.patch(
                f"/api/v1/posts/{draft_slug}",
                json={"published": True, "tags": tags},
                headers=drafting,
            )
        )
        await wait_for_lock_waits(holding, 1)
        post = asyncio.create_task(
            live_client.post(
                "/api/v1/posts",
                json={"title": "Post", "content": "c", "tags": tags, "published": True},
                headers=posting,
            )
        )
        await wait_for_lock_waits(holding, 2)
        await transaction.commit()
    published, posted = await publication, await post
    assert (published.status_code, posted.status_code) == (200, 201), (published.text, posted.text)
    for slug in tags:
        count = "SELECT published_post_count FROM tags WHERE slug = :slug"
        assert await scalar(engine, count, slug=slug) == 2, slug


async def test_a_post_and_a_publication_sharing_a_new_tag_do_not_deadlock(
    live_client: AsyncClient, engine: AsyncEngine
) -> None:
    """Publishing locks the draft's tags (their counts); a new tag's insert waits for another
    request's insert of it. A publication that locked `intro` before inserting `fresh` waited
    on a post that had inserted `fresh` and then waited on `intro`: a deadlock, a 409."""
    heads = await two_authors(engine)
    draft = await create_post(live_client, heads[0], "Draft", tags=["intro"], published=False)
    # Both requests are held on `intro` until both have inserted what they insert first.
    hold = "SELECT 1 FROM tags WHERE slug = 'intro' FOR UPDATE"
    await publish_while_posting(live_client, engine, heads, draft["slug"], ["intro", "fresh"], hold)


async def test_a_publication_that_adds_an_earlier_tag_locks_its_tags_in_id_order(
    live_client: AsyncClient, engine: AsyncEngine
) -> None:
    """Publishing a draft locks the tags it has; adding a tag locks that one. A publication of
    a draft tagged `later` that also added `earlier` (a tag with a lower id) locked `later`,
    then `earlier`: a post naming both, which locks them in id order, deadlocked with it."""
    heads = await two_authors(engine)
    await create_post(live_client, heads[1], "Seed", tags=["one", "two"], published=False)
    ordered = "SELECT slug FROM tags WHERE slug IN ('one', 'two') ORDER BY id"
    async with engine.connect() as reading:
        earlier, later = (await reading.execute(text(ordered))).scalars().all()
    draft = await create_post(live_client, heads[0], "Draft", tags=[later], published=False)
    # `later` as a count's update holds it: links to it may still be added meanwhile.
    hold = f"SELECT 1 FROM tags WHERE slug = '{later}' FOR NO KEY UPDATE"
    await publish_while_posting(live_client, engine, heads, draft["slug"], [earlier, later], hold)


async def test_an_account_deleted_while_a_moderator_unpublishes_its_post_does_not_deadlock(
    live_client: AsyncClient, engine: AsyncEngine
) -> None:
    """Unpublishing locks the post, then its author's row (the count). Deleting the account
    locked the author's row, then (its trigger) the author's posts: the two waited for each
    other, and one of them was aborted as a deadlock."""
    (author, author_email), (moderator, moderator_email) = await register(engine, 2)
    writing = bearer(make_token(author, author_email))
    moderating = bearer(make_token(moderator, moderator_email))
    post = await create_post(live_client, writing, "Spam", tags=["spam"], published=True)
    assert (await live_client.get("/api/v1/users/me", headers=moderating)).status_code == 200
    await execute(engine, "UPDATE users SET role = 'moderator' WHERE id = :id", id=moderator)
    async with engine.connect() as holding, engine.connect() as deleting:
        transaction = await holding.begin()
        hold = "SELECT 1 FROM users WHERE id = :id FOR NO KEY UPDATE"
        await holding.execute(text(hold), {"id": author})
        deletion = asyncio.create_task(
            deleting.execute(text("DELETE FROM auth.users WHERE id = :id"), {"id": author})
        )
        await wait_for_lock_waits(holding, 1)
        unpublication = asyncio.create_task(
            live_client.patch(
                f"/api/v1/posts/{post['slug']}", json={"published": False}, headers=moderating
            )
        )
        await wait_for_lock_waits(holding, 2)
        await transaction.commit()
        await deletion
        await deleting.commit()
        response = await unpublication
    assert response.status_code in (200, 404), response.text
    assert await scalar(engine, "SELECT count(*) FROM users WHERE id = :id", id=author) == 0
    count = "SELECT published_post_count FROM tags WHERE slug = 'spam'"
    assert await scalar(engine, count) == 0
