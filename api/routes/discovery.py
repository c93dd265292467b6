"""Aggregates over published posts: tags and authors by use."""

from fastapi import APIRouter

from api.deps import ReaderDep
from api.errors import problem_responses
from api.pagination import DEFAULT_LIMIT, PageLimit
from api.schemas.posts import TagStats
from api.schemas.users import AuthorStats
from db.repositories import tags, users

router = APIRouter(tags=["discovery"])


@router.get("/tags", responses=problem_responses())
async def list_tags(reader: ReaderDep, limit: PageLimit = DEFAULT_LIMIT) -> list[TagStats]:
    """Tags with their number of published posts, most used first, then by name."""
    return [
        TagStats.model_validate(row, from_attributes=True)
        for row in await tags.most_used(reader, limit)
    ]


@router.get("/authors/top", responses=problem_responses())
async def top_authors(reader: ReaderDep, limit: PageLimit = DEFAULT_LIMIT) -> list[AuthorStats]:
    """Authors by number of published posts, most first."""
    rows = await users.top_authors(reader, limit)
    return [AuthorStats.model_validate(row, from_attributes=True) for row in rows]
