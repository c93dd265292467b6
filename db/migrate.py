"""Run Alembic programmatically against a given database URL."""

import io
from pathlib import Path

from alembic import command
from alembic.config import Config

ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


def alembic_config(database_url: str | None = None) -> Config:
    config = Config(str(ALEMBIC_INI))
    if database_url:
        config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head", *, lock_timeout: str | None = None) -> None:
    """Migrate up to `revision`; a lock held longer than `lock_timeout` aborts the run."""
    config = alembic_config(database_url)
    if lock_timeout is not None:
        config.attributes["lock_timeout"] = lock_timeout
    command.upgrade(config, revision)


def downgrade(database_url: str, revision: str = "-1") -> None:
    command.downgrade(alembic_config(database_url), revision)


def current(database_url: str) -> str:
    """The database's revision as Alembic shows it (`0023 (head)`), or `none`."""
    config = alembic_config(database_url)
    config.stdout = shown = io.StringIO()
    command.current(config)
    return shown.getvalue().strip() or "none"


def check(database_url: str) -> None:
    """Raise if the models and the migrated database differ."""
    command.check(alembic_config(database_url))
