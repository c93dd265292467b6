"""URL prefixes shared by the app factory and the routes that build links."""

API_PREFIX = "/api/v1"
