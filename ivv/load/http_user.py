"""A Locust user for REST APIs, on FastHttpUser (geventhttpclient): the closed model over keep-alive
connections.

FastHttpUser, not HttpUser: benchmarks/http_loadgen.py measured 3.5x the calls per CPU-second of the
requests-based HttpUser, which costs as much per call as a plain requests loop. Each task of the mix is an
operation label, `METHOD /path` (`GET /status: 5`); its `params` are the JSON body (query parameters for a
GET). With `authenticate` every call carries `Authorization: Bearer <token>`. FastHttpSession fires the
`request` event itself (a status >= 400 is a failure with the status in its error) with the context the
recorder reads (`kind`, `wall`, `sent`, `lag_ms`), so the same figures and criteria apply as over JSON-RPC.

The open model (calls at scheduled times, timed from the schedule) is not built for HTTP yet: a spec
asking for it is refused in `ivv.load.spec`, so it never runs as something else.
"""

from __future__ import annotations

import bisect
import itertools
import random
import time

import gevent
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

from ivv.errors import ConfigError
from ivv.load.spec import LoadSpec, http_operation


class RestUser(FastHttpUser):
    """Base: a weighted mix of operations, a per-user budget and an end time (like the JSON-RPC users)."""

    abstract = True
    spec: LoadSpec
    token: str | None = None
    end_at: float = float("inf")
    wait_time = constant(0)
    insecure = True                 # set per run from the spec (tls_verify)

    def on_start(self) -> None:
        self.calls = [(t.method, *http_operation(t.method, self.spec.source), t.params) for t in self.spec.tasks]
        self.cum_weights = list(itertools.accumulate(t.weight for t in self.spec.tasks))
        self.budget = max(1, self.spec.max_requests // max(1, self.spec.users))
        self.headers = {"Authorization": f"Bearer {self.token}"} if self.spec.authenticate and self.token else {}

    def pick(self):
        return self.calls[bisect.bisect(self.cum_weights, random.random() * self.cum_weights[-1])]

    def call(self) -> None:
        label, method, path, params = self.pick()
        body = {"params": params} if method == "GET" else {"json": params}
        self.client.request(method, path, name=label, headers=self.headers,
                            context={"kind": "call", "wall": time.time(), "sent": True, "lag_ms": 0.0},
                            **(body if params is not None else {}))

    @task
    def run_calls(self) -> None:
        for _ in range(self.budget):
            if time.time() >= self.end_at:
                break
            self.call()
            if self.spec.think_time_s:
                gevent.sleep(self.spec.think_time_s)
        while True:                 # after the end time (or the budget): wait to be stopped
            gevent.sleep(1)


def make_user_class(spec: LoadSpec, token: str | None) -> type[RestUser]:
    """The concrete user for a run; the same name in every process so Locust workers find it. A spec for
    the open model or a capacity search (which paces calls by a schedule) is refused, never run closed."""
    if spec.open_model or spec.steps:
        raise ConfigError(f"{spec.source}: the open model and the capacity search are not built for HTTP yet "
                          "(ivv.load.http_user runs the closed model only)")
    return type("RestLoadUser", (RestUser,), {
        "abstract": False, "spec": spec, "token": token, "host": spec.url.rstrip("/"), "__module__": __name__,
        "network_timeout": spec.timeout_s, "connection_timeout": spec.timeout_s,
        "insecure": not spec.tls_verify, **({"ssl_context_factory": _verifying(spec.ca_file)} if spec.ca_file else {}),
    })


def _verifying(ca_file: str):
    def factory():
        import ssl

        return ssl.create_default_context(cafile=ca_file)
    return factory


def in_flight() -> int:
    """Calls still waiting for an answer once the users stop: none in the closed model."""
    return 0
