#!/bin/sh
# Start the Gatepass web service: optionally migrate the read model, then hand the process over
# to gunicorn (exec, so it receives ECS's SIGTERM directly and drains).
#
#   RUN_MIGRATIONS=1   run `alembic upgrade head` first (under an advisory lock, see
#                      migrations/env.py, so tasks starting together migrate once)
#   DB_MIGRATION_HOST, DB_MIGRATION_USER, DB_MIGRATION_PASSWORD
#                      the primary database and its master user, for the migrations only:
#                      they are removed from the environment before gunicorn starts, so the
#                      site itself runs as DB_USER (gatepass_web, read-only) and never holds them
#   REDIS_URL          used as given; otherwise built from REDIS_HOST, REDIS_PORT (6379),
#                      REDIS_AUTH_TOKEN (from Secrets Manager) and REDIS_TLS (true: rediss://)
#   GUNICORN_APP       WSGI target (default webapp:create_app())
#
# Arguments, if any, run instead of the server: `docker run IMAGE alembic current`.
set -eu

cd "$(dirname "$0")"

if [ -z "${REDIS_URL:-}" ] && [ -n "${REDIS_HOST:-}" ]; then
  scheme=rediss
  case "${REDIS_TLS:-true}" in
    false | 0 | no) scheme=redis ;;
  esac
  credentials=""
  if [ -n "${REDIS_AUTH_TOKEN:-}" ]; then
    credentials=":$(python -c 'import os, urllib.parse; print(urllib.parse.quote(os.environ["REDIS_AUTH_TOKEN"], safe=""))')@"
  fi
  REDIS_URL="${scheme}://${credentials}${REDIS_HOST}:${REDIS_PORT:-6379}/0"
  export REDIS_URL
fi

if [ "$#" -gt 0 ]; then
  exec "$@"
fi

if [ "${RUN_MIGRATIONS:-0}" = "1" ]; then
  DB_HOST="${DB_MIGRATION_HOST:-${DB_HOST:-}}" \
    DB_USER="${DB_MIGRATION_USER:-${DB_USER:-}}" \
    DB_PASSWORD="${DB_MIGRATION_PASSWORD:-${DB_PASSWORD:-}}" \
    alembic -c alembic.ini upgrade head
fi
unset DB_MIGRATION_HOST DB_MIGRATION_USER DB_MIGRATION_PASSWORD

exec gunicorn -c gunicorn.conf.py "${GUNICORN_APP:-webapp:create_app()}"
