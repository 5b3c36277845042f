"""gunicorn settings for the Gatepass web service.

Everything comes from the environment with defaults that suit one Fargate task behind the ALB,
so the same file serves the container, ``make dev`` and the tests.

PORT (8080), HOST (0.0.0.0), WEB_CONCURRENCY (workers; CPUs available + 1, at most 8),
GUNICORN_THREADS (4), GUNICORN_TIMEOUT (30), GUNICORN_GRACEFUL_TIMEOUT (20),
GUNICORN_KEEPALIVE (75), GUNICORN_MAX_REQUESTS (0: never recycle), FORWARDED_ALLOW_IPS (*),
LOG_LEVEL (info).
"""

from __future__ import annotations

import os


def _int(name: str, default: int, low: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    value = int(raw)
    if value < low:
        raise ValueError(f"{name} must be at least {low}")
    return value


def _cpus() -> int:
    # A Fargate task sees its own CPU share through the affinity mask, not the host's count.
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


# The container listens on every interface; the task's security group admits only the ALB.
bind = f"{os.environ.get('HOST', '0.0.0.0')}:{_int('PORT', 8080, 1)}"  # noqa: S104
workers = _int("WEB_CONCURRENCY", min(_cpus() + 1, 8), 1)
# Threads overlap the waits on PostgreSQL, Redis and the API; each worker keeps its own pool.
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4, 1)
timeout = _int("GUNICORN_TIMEOUT", 30, 1)
# Below ECS's 30 s stop timeout, so in-flight requests finish before SIGKILL.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 20, 1)
# Longer than the ALB's 60 s idle timeout: the ALB closes idle connections, never gunicorn,
# which would otherwise race it into 502s.
keepalive = _int("GUNICORN_KEEPALIVE", 75, 1)
# No recycling unless asked for (a guard against a leak, if one ever shows). Under load a worker
# was replaced every few seconds even at 20 000 requests, and throughput fell by half for seconds
# at a time around each replacement (bench: web reads); ECS replaces tasks on every deploy anyway.
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = max_requests // 10
# Connection pools must not be shared across fork: each worker builds its app and engine.
preload_app = False
# The ALB's addresses change; the security group is what guarantees only it can connect.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")
# The heartbeat file lives in memory where there is one (the root filesystem is read-only).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
# No runtime control socket: it would need a writable home directory, and ECS manages the tasks.
control_socket_disable = True
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# "trace": the load balancer's X-Amzn-Trace-Id, so a line can be found from the ALB's access log
# and from X-Ray ("-" without it). The path is %(U)s, without the query string.
access_log_format = (
    '{"remote": "%({x-forwarded-for}i)s", "method": "%(m)s", "path": "%(U)s", '
    '"status": %(s)s, "bytes": "%(B)s", "duration_ms": %(M)s, "agent": "%(a)s", '
    '"trace": "%({x-amzn-trace-id}i)s"}'
)


def on_starting(server: object) -> None:
    """Import the app's modules once in the master, so a replaced worker (after a crash or a
    timeout, or recycled with GUNICORN_MAX_REQUESTS) forks with them loaded.

    Only modules: ``create_app()`` still runs in each worker, so pools and sockets are never
    shared across a fork. Another WSGI app served with this file (the bench's ceiling) skips it.
    """
    try:
        import webapp  # noqa: F401
        from webapp.views import api, catalog, health, organizer, signin, tickets  # noqa: F401
    except ImportError:
        return
