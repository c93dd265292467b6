"""Quire's data layer: tables, data access and migrations. Knows nothing of the web app."""
