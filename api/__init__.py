"""Quire's HTTP API: FastAPI app, settings, dependencies, schemas and routes."""
