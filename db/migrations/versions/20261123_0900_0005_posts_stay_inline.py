"""Posts keep their content and search document in the row

A published post's row (~1 KB of content and a ~1.4 KB search document) passes the ~2 KB at
which PostgreSQL starts to compress values and move them out of the row: the content was
compressed and the document stored in the TOAST table. A search that walks the newest posts
read every candidate's document from there. With `toast_tuple_target` at its maximum, rows
up to ~8 KB stay whole and uncompressed: PostgreSQL ran a search page in 1.37 ms instead of
2.84 ms (pgbench, 100,000 posts), list pages as fast as before, in about the same space.
Longer posts are still compressed and moved out.

The setting applies to rows written from now on: existing rows keep their layout until they
are rewritten (`VACUUM FULL posts`, under an ACCESS EXCLUSIVE lock). Changing it takes a
SHARE UPDATE EXCLUSIVE lock only, which reads and writes do not wait for.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 09:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE posts SET (toast_tuple_target = 8160)")


def downgrade() -> None:
    op.execute("ALTER TABLE posts RESET (toast_tuple_target)")
