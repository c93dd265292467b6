"""`make bench`: Quire under load next to a hand-written asyncpg ceiling, on a seeded database."""
