"""Export the Alembic history as Supabase CLI migrations, one SQL file per revision.

`python -m db.supabase_export` (or `make supabase-migrations`) renders each revision with
Alembic's offline `--sql` mode into `supabase/migrations/<timestamp>_<name>.sql`, so teams
that deploy with `supabase db push` apply exactly what `alembic upgrade` would. The files
also keep `alembic_version` current, so either tool sees the database at the same revision.
"""

import io
import re
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.script import Script, ScriptDirectory

from db.migrate import alembic_config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "supabase" / "migrations"
HEADER = "-- Exported from the Alembic history by `make supabase-migrations`: do not edit.\n"
# Alembic files are named `YYYYMMDD_HHMM_<rev>_<slug>.py` (see alembic.ini's file_template).
FILE_NAME = re.compile(r"^(?P<day>\d{8})_(?P<time>\d{4})_(?P<rev>[^_]+)_(?P<slug>.+)\.py$")


class ExportError(RuntimeError):
    """A revision cannot be exported; the message says which and why."""


@dataclass(frozen=True)
class ExportedMigration:
    name: str
    sql: str


def export() -> list[ExportedMigration]:
    """Every revision from base to head, oldest first, as Supabase CLI migrations."""
    scripts = ScriptDirectory.from_config(alembic_config())
    history = reversed(list(scripts.walk_revisions("base", "heads")))
    return [ExportedMigration(file_name(script), render(script)) for script in history]


def file_name(script: Script) -> str:
    match = FILE_NAME.match(Path(script.path).name)
    if match is None or match["rev"] != script.revision:
        raise ExportError(f"{script.path} is not named YYYYMMDD_HHMM_<rev>_<slug>.py")
    return f"{match['day']}{match['time']}00_{match['slug']}.sql"


def render(script: Script) -> str:
    """The revision's upgrade as SQL, without BEGIN/COMMIT: the Supabase CLI runs each file
    in a transaction of its own."""
    config = alembic_config()
    output = io.StringIO()
    config.output_buffer = output
    start = f"{script.down_revision}:" if script.down_revision else ""
    command.upgrade(config, f"{start}{script.revision}", sql=True)
    body = output.getvalue().strip()
    body = body.removeprefix("BEGIN;").removesuffix("COMMIT;").strip()
    return (
        f"{HEADER}-- Alembic revision {script.revision}: {script.doc}\n{_waivers(script)}\n{body}\n"
    )


def _waivers(script: Script) -> str:
    """squawk rules a revision waives for itself (`SQUAWK_IGNORE`, its docstring says why)."""
    rules: tuple[str, ...] = getattr(script.module, "SQUAWK_IGNORE", ())
    return f"-- squawk-ignore-file {', '.join(rules)}\n" if rules else ""


def write(migrations: list[ExportedMigration], directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Write the files; delete previously exported ones that no longer match a revision."""
    directory.mkdir(parents=True, exist_ok=True)
    wanted = {migration.name for migration in migrations}
    removed = [
        path.name
        for path in sorted(directory.glob("*.sql"))
        if path.name not in wanted and path.read_text().startswith(HEADER)
    ]
    for name in removed:
        (directory / name).unlink()
    for migration in migrations:
        (directory / migration.name).write_text(migration.sql)
    return removed


def main() -> None:
    migrations = export()
    removed = write(migrations)
    for migration in migrations:
        print(f"supabase/migrations/{migration.name}")
    for name in removed:
        print(f"removed stale supabase/migrations/{name}")


if __name__ == "__main__":
    main()
