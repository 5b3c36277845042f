"""Local API overhead: a request through the local API (``make dev``'s :3000, over HTTP on
loopback) against the same handler called directly with the same event, both in this process
against moto."""

from __future__ import annotations

import http.client
import json
import time
from typing import Any

from bench.common import ROOT, summary


def run(repeats: int, requests: int = 100) -> dict[str, Any]:
    from bench.contention import moto_in_process
    from devstack.functions import FunctionHost
    from devstack.localapi import LocalApi
    from devstack.servers import ServerThread
    from tests.support import factories

    sample = json.loads((ROOT / "events" / "events-read-get.json").read_text())
    with moto_in_process() as model:
        event_id = sample["pathParameters"]["event_id"]
        factories.put_event(event_id=event_id, capacity=100)
        api = LocalApi(model, FunctionHost(model))
        route, _, _ = api.match(sample["httpMethod"], sample["path"])
        assert route is not None
        server = ServerThread(api, "127.0.0.1", 0, "bench API").start()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        statuses: set[tuple[str, int]] = set()

        def direct() -> None:
            answer = api.host.invoke(route.function, json.loads(json.dumps(sample)))
            statuses.add(("direct", answer["statusCode"]))

        def through_api() -> None:
            conn.request("GET", sample["path"], headers={"Accept": "application/json"})
            answer = conn.getresponse()
            answer.read()
            statuses.add(("local API", answer.status))

        try:
            direct()
            through_api()
            direct_times: list[float] = []
            api_times: list[float] = []
            for _ in range(repeats):
                for call, into in ((direct, direct_times), (through_api, api_times)):
                    started = time.perf_counter()
                    for _ in range(requests):
                        call()
                    into.append((time.perf_counter() - started) / requests)
        finally:
            conn.close()
            server.stop()
    direct_s, api_s = summary(direct_times), summary(api_times)
    return {
        "route": f"{sample['httpMethod']} {route.resource}",
        "function": route.function,
        "requests_per_round": requests,
        "direct_seconds": direct_s,
        "local_api_seconds": api_s,
        "overhead_seconds": api_s["median"] - direct_s["median"],
        "ratio": api_s["median"] / direct_s["median"],
        "statuses": sorted(f"{k} {v}" for k, v in statuses),
    }
