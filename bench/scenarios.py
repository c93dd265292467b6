"""What `make bench` drives: each scenario is a list of requests that wrk replays in a loop."""

import json
import random
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from db.seed import TAGS_PER_POST, Generator, tag_names, vocabulary

Target = Literal["api", "ceiling", "template"]
API = "/api/v1"
# Searches for one topic word each: common words, many matches at every size.
SEARCHES = ("postgres", "python latency", "database", "async", "security", "cloud storage")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    authorization: str = ""
    body: str = ""

    def line(self) -> str:
        return "\t".join((self.method, self.path, self.authorization, self.body))


@dataclass(frozen=True)
class Scenario:
    name: str
    target: Target
    requests: tuple[Request, ...]
    writes: bool = False

    @property
    def reads(self) -> bool:
        return not self.writes


@dataclass(frozen=True)
class Fixtures:
    """Values picked from the seeded database, so requests hit real rows."""

    tag_slugs: list[str]
    author_ids: list[str]
    post_slugs: list[str]
    tokens: list[str]


def get(path: str) -> tuple[Request, ...]:
    return (Request("GET", path),)


def api_scenarios(fixtures: Fixtures, rng: random.Random) -> list[Scenario]:
    return [
        Scenario("list_posts", "api", get(f"{API}/posts")),
        Scenario(
            "list_by_tag",
            "api",
            tuple(Request("GET", f"{API}/posts?tag={slug}") for slug in fixtures.tag_slugs),
        ),
        Scenario(
            "list_by_author",
            "api",
            tuple(Request("GET", f"{API}/posts?author={key}") for key in fixtures.author_ids),
        ),
        Scenario(
            "search",
            "api",
            tuple(Request("GET", f"{API}/posts?q={quote(terms)}") for terms in SEARCHES),
        ),
        Scenario(
            "post_detail",
            "api",
            tuple(Request("GET", f"{API}/posts/{slug}") for slug in fixtures.post_slugs),
        ),
        Scenario("tags", "api", get(f"{API}/tags")),
        Scenario("authors_top", "api", get(f"{API}/authors/top")),
        Scenario("health", "api", get("/health")),
        Scenario("create_post", "api", _new_posts(fixtures.tokens, rng), writes=True),
    ]


def ceiling_scenarios() -> list[Scenario]:
    return [
        Scenario("ceiling_list_posts", "ceiling", get("/posts")),
        Scenario("ceiling_hello", "ceiling", get("/hello")),
    ]


def template_scenarios(token: str) -> list[Scenario]:
    """The template's item list: 20 of its 10,000 items, read by its superuser."""
    page = Request("GET", "/api/v1/items/?limit=20", f"Bearer {token}")
    return [Scenario("template_list_items", "template", (page,))]


def _new_posts(tokens: list[str], rng: random.Random, count: int = 1000) -> tuple[Request, ...]:
    generator = Generator(rng, vocabulary(rng))
    names = tag_names()
    requests = []
    for number in range(count):
        body = {
            "title": f"Bench {generator.text(30)}",
            "content": generator.text(1000),
            "tags": rng.sample(names, TAGS_PER_POST),
            "published": True,
        }
        token = tokens[number % len(tokens)]
        requests.append(Request("POST", f"{API}/posts", f"Bearer {token}", json.dumps(body)))
    return tuple(requests)
