"""Thin route handlers, one module per resource."""
