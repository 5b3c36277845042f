#!/bin/sh
# Start the Gatepass web service: optionally migrate the read model, then hand the process over
# to gunicorn (exec, so it receives ECS's SIGTERM directly and drains).
#
#   RUN_MIGRATIONS=1   run `alembic upgrade head` first (under an advisory lock, see
#                      migrations/env.py, so tasks starting together migrate once)
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
  alembic -c alembic.ini upgrade head
fi

exec gunicorn -c gunicorn.conf.py "${GUNICORN_APP:-webapp:create_app()}"
