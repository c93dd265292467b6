"""The Data API shows a tag only with a post the caller may see, and writes need an active account

Three gaps between what the API allows and what Supabase's Data API allowed, with the anon key
or a user's token:

- every tag was readable, the names of tags used only by drafts (or by no post any more)
  included: a tag is now visible exactly when a post the caller may see carries it (the
  subquery runs under the links' policies, which follow the posts');
- a deactivated account could still delete its posts, their tags and its profile: deletes
  now need an active account, as the other writes do;
- a profile's avatar could be any text, a `javascript:` URL included, which the API then
  served to every client: it must now be an http(s) URL, as the API requires. The check is
  added NOT VALID (new writes are checked at once) and 0011 validates the existing rows.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 18:00:00+00:00
"""

from collections.abc import Sequence
from dataclasses import dataclass

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CALLER = "(SELECT auth.uid())"
ACTIVE_CALLER = f"EXISTS (SELECT FROM public.users u WHERE u.id = {CALLER} AND u.is_active)"
OWN_LINK = f"EXISTS (SELECT FROM public.posts p WHERE p.id = post_id AND p.author_id = {CALLER})"
CARRIED_BY_A_VISIBLE_POST = "EXISTS (SELECT FROM public.post_tags pt WHERE pt.tag_id = tags.id)"
AVATAR_CHECK = "ck_user_profiles_avatar_url_http"
AVATAR_RULE = "avatar_url ~* '^https?://'"


@dataclass(frozen=True)
class Policy:
    table: str
    command: str
    role: str
    before: str
    after: str

    @property
    def name(self) -> str:
        return f"{self.table}_{self.command.lower()}_{self.role}"

    def create(self, using: str) -> str:
        return (
            f"CREATE POLICY {self.name} ON public.{self.table} "
            f"FOR {self.command} TO {self.role} USING ({using})"
        )


POLICIES = (
    Policy("tags", "SELECT", "anon", "true", CARRIED_BY_A_VISIBLE_POST),
    Policy("tags", "SELECT", "authenticated", "true", CARRIED_BY_A_VISIBLE_POST),
    Policy(
        "posts", "DELETE", "authenticated", f"author_id = {CALLER}",
        f"author_id = {CALLER} AND {ACTIVE_CALLER}",
    ),
    Policy(
        "user_profiles", "DELETE", "authenticated", f"user_id = {CALLER}",
        f"user_id = {CALLER} AND {ACTIVE_CALLER}",
    ),
    Policy("post_tags", "DELETE", "authenticated", OWN_LINK, f"{OWN_LINK} AND {ACTIVE_CALLER}"),
)  # fmt: skip


def upgrade() -> None:
    for policy in POLICIES:
        op.execute(f"DROP POLICY {policy.name} ON public.{policy.table}")
        op.execute(policy.create(policy.after))
    op.execute(
        f"ALTER TABLE public.user_profiles ADD CONSTRAINT {AVATAR_CHECK} "
        f"CHECK ({AVATAR_RULE}) NOT VALID"
    )


def downgrade() -> None:
    op.execute(f"ALTER TABLE public.user_profiles DROP CONSTRAINT {AVATAR_CHECK}")
    for policy in POLICIES:
        op.execute(f"DROP POLICY {policy.name} ON public.{policy.table}")
        op.execute(policy.create(policy.before))
