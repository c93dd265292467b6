"""Statements per aggregate: lookups, keyset pages and upserts. They flush, never commit."""
