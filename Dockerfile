# Quire's production image: `docker build -t quire .`, then
#   docker run --rm --env-file .env quire python -m api.cli migrate   (DATABASE_DIRECT_URL)
#   docker run --rm --env-file .env -p 8000:8000 quire                (serves on $PORT)
# Set DATABASE_URL (Supabase or any PostgreSQL): in production Quire refuses to start without
# one. See "Deploy against Supabase" in README.md.

FROM python:3.11-slim AS build
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
# Dependencies first, so code changes reuse this layer.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev
COPY alembic.ini ./
COPY db ./db
COPY api ./api

FROM python:3.11-slim
RUN useradd --system --create-home --uid 10001 quire
WORKDIR /app
COPY --from=build /app /app
RUN mkdir -p /app/.data && chown quire /app/.data
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    QUIRE_ENVIRONMENT=production \
    PORT=8000
USER quire
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['PORT'] + '/health', timeout=4)"]
# Workers: WEB_CONCURRENCY (default: one per CPU). Behind a proxy, set FORWARDED_ALLOW_IPS.
CMD ["python", "-m", "api.cli", "serve"]
