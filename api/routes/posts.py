"""Posts: create, list and search published ones, read, edit and delete."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.deps import (
    BODY_ERRORS,
    OPTIONAL_AUTH,
    SIGN_IN_ERRORS,
    CurrentUser,
    Cursors,
    ManagedPost,
    ReaderDep,
    SessionDep,
    VisiblePost,
)
from api.errors import InvalidInput, problem_responses
from api.pagination import DEFAULT_LIMIT, PageCursor, PageLimit
from api.paths import API_PREFIX
from api.responses import ViewResponse
from api.schemas.common import PostSearch, SqlText
from api.schemas.posts import MAX_TAGS, PostCreate, PostPublic, PostsPage, PostUpdate
from db.repositories import posts, tags
from db.repositories.posts import FilterTooSlow, NewPost, PostFilter

router = APIRouter(prefix="/posts", tags=["posts"])
# A write finds or creates its tags before it writes the post: a new tag's insert may wait for
# a concurrent request that inserted it too, and must not wait while holding the locks that
# publishing takes on tags' and authors' rows (their counts), which that request may need.

PUBLISHED = "published"
SEARCH_TOO_SLOW = (
    "This search took too long to answer; search for fewer or more specific words, "
    "or narrow it by tag or author."
)
TagFilter = Annotated[
    list[SqlText],
    Query(
        max_length=MAX_TAGS,
        description="A tag's slug, or its name in any case. Given several times: posts with "
        "all of them.",
    ),
]
TAGS_TOO_SLOW = (
    "These tags are seldom on the same posts, and finding posts with all of them took too "
    "long; ask for fewer tags, or narrow the list by author."
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PostPublic,
    responses=problem_responses(*SIGN_IN_ERRORS, *BODY_ERRORS),
)
async def create_post(body: PostCreate, user: CurrentUser, session: SessionDep) -> ViewResponse:
    """Write a post (a draft unless `published`), tagging it by tag names."""
    post_tags = await tags.find_or_create(session, body.tags) if body.tags else []
    new = NewPost(
        author_id=user.id, title=body.title, content=body.content, published=body.published
    )
    post_id = await posts.create(session, new)
    if post_tags:
        await tags.add_post_tags(session, post_id, post_tags)
    post = await posts.view_by_id(session, post_id)
    location = f"{API_PREFIX}/posts/{post['slug']}"
    return ViewResponse(post, status_code=status.HTTP_201_CREATED, headers={"Location": location})


@router.get("", response_model=PostsPage, responses=problem_responses())
async def list_posts(
    reader: ReaderDep,
    cursors: Cursors,
    tag: TagFilter = [],  # noqa: B006 - FastAPI copies it
    author: uuid.UUID | None = None,
    q: PostSearch | None = None,
    limit: PageLimit = DEFAULT_LIMIT,
    cursor: PageCursor = None,
) -> ViewResponse:
    """Published posts, newest first: filter by tags (all of them), author, or a search."""
    filters = PostFilter(tags=tag, author_id=author, query=q)
    after = cursors.decode(cursor, PUBLISHED)
    try:
        page = await posts.published(reader, filters, limit, after)
    except FilterTooSlow as error:
        if error.searching:
            raise InvalidInput(SEARCH_TOO_SLOW, field="q") from error
        raise InvalidInput(TAGS_TOO_SLOW, field="tag") from error
    next_cursor = cursors.encode(page.next, PUBLISHED)
    return ViewResponse({"items": page.items, "next_cursor": next_cursor})


@router.get(
    "/{slug}",
    response_model=PostPublic,
    responses=problem_responses(*SIGN_IN_ERRORS, 404),
    openapi_extra=OPTIONAL_AUTH,
)
async def read_post(post: VisiblePost) -> ViewResponse:
    """A post by slug: published, or a draft its author, a moderator or an admin asks for."""
    return ViewResponse(post)


@router.patch(
    "/{slug}",
    response_model=PostPublic,
    responses=problem_responses(*SIGN_IN_ERRORS, 404, *BODY_ERRORS),
)
async def update_post(body: PostUpdate, post: ManagedPost, session: SessionDep) -> ViewResponse:
    """Change a post; `tags` replaces the set, and the slug never changes."""
    post_tags = None if body.tags is None else await tags.find_or_create(session, body.tags)
    changes = body.model_dump(exclude_unset=True, exclude={"tags"})
    # Tags change while the post is a draft, whose links count for no tag: before it is
    # published, after it is unpublished. Publishing then locks all its tags at once, in id
    # order as every writer does; a tag added after it was locked on its own, and one with a
    # lower id than the others deadlocked with a writer taking the same tags in id order.
    was_draft = not post.is_published
    if post_tags is not None and was_draft:
        await tags.replace_post_tags(session, post.id, post_tags)
    await posts.update(session, post, changes)
    if post_tags is not None and not was_draft:
        await tags.replace_post_tags(session, post.id, post_tags)
    return ViewResponse(await posts.view_by_id(session, post.id))


@router.delete(
    "/{slug}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(*SIGN_IN_ERRORS, 404),
)
async def delete_post(post: ManagedPost, session: SessionDep) -> None:
    """Delete a post; its tags stay."""
    await posts.delete(session, post)
