"""A post's search document is kept by a trigger, so a bulk load can write documents it built

0004 stored the document as a generated column, which no statement can write: every load
computed `to_tsvector` over each whole post, ~150 µs of CPU per 1 KB post here, most of the
196 s that `make seed` took for a million posts. A trigger now sets the document when a post
is inserted and when its title or content is written (an UPDATE that writes `search_vector`
itself gets the computed document too), so every writer still gets a document that matches
the text, at the same cost: 5,000 inserts of 1 KB posts took 0.78-0.88 s either way, and an
update that leaves the text alone recomputes nothing, as with the generated column.

The column keeps its values, its storage and its index: dropping the expression rewrites
nothing (2 ms at a million posts here; the downgrade rewrites the table, 3 minutes there). A
session with `session_replication_role = replica` (a superuser's bulk load, as `make seed`
does) skips the trigger and must write documents that match: `make seed` joins the documents
of the titles and paragraphs its posts are made of, and its tests compare them with the
trigger's.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-23 22:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import TSVECTOR

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# No client writes the column, and reads see the same values: the trigger keeps them.
SQUAWK_IGNORE = ("ban-drop-generated-expression",)
DOCUMENT = "to_tsvector('english'::regconfig, title || ' ' || content)"
SET_SEARCH_VECTOR = """
CREATE FUNCTION public.set_post_search_vector() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
    NEW.search_vector := to_tsvector('english'::regconfig, NEW.title || ' ' || NEW.content);
    RETURN NEW;
END;
$$
"""
SEARCH_VECTOR_TRIGGER = (
    "CREATE TRIGGER posts_search_vector BEFORE INSERT OR UPDATE OF title, content, "
    "search_vector ON public.posts FOR EACH ROW EXECUTE FUNCTION public.set_post_search_vector()"
)


def upgrade() -> None:
    op.execute("ALTER TABLE public.posts ALTER COLUMN search_vector DROP EXPRESSION")
    op.execute(SET_SEARCH_VECTOR)
    op.execute(SEARCH_VECTOR_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER posts_search_vector ON public.posts")
    op.execute("DROP FUNCTION public.set_post_search_vector()")
    # A column cannot become generated again: 0004's column is added back, and computed.
    # Dropping the column drops its index too, even if a stopped seed had dropped it already.
    op.drop_column("posts", "search_vector")
    op.add_column(
        "posts",
        sa.Column(
            "search_vector", TSVECTOR(), sa.Computed(DOCUMENT, persisted=True), nullable=False
        ),
    )
    op.create_index("ix_posts_search", "posts", ["search_vector"], postgresql_using="gin")
    op.execute("ANALYZE posts")
