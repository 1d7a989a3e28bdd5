"""Locust users for REST APIs, on FastHttpUser (geventhttpclient), over keep-alive connections: the
closed model (call, wait, think, call again) and the open model (`ivv.load.pacing`).

FastHttpUser, not HttpUser: benchmarks/http_loadgen.py measured 3.5x the calls per CPU-second of the
requests-based HttpUser, which costs as much per call as a plain requests loop. Each task of the mix is an
operation label, `METHOD /path` (`GET /status: 5`); its `params` are the JSON body (query parameters for a
GET). With `authenticate` every call carries `Authorization: Bearer <token>`. FastHttpSession fires the
`request` event itself (a status >= 400 is a failure with the status in its error) with the context the
recorder reads (`kind`, `wall`, `sent`, `lag_ms`), so the same figures and criteria apply as over JSON-RPC.

In the open model each due call runs in a greenlet of its own on the user's connection pool (at most
`concurrency` connections per user, kept alive; a call waiting for a free connection is still timed from
its due time, as the reply is late all the same). Its response time is set from the due time before the
request event fires. The capacity search (steps) runs the open model at each step's rate
(`ivv.load.capacity_run`); an HTTP user has no connection to open first (keep-alive connections open with
the first calls), so a search starts once the users are spawned.

Each user's keep-alive sockets are counted (`ivv.load.connections.count_pooled`): opened, dropped by the
service, refused, the same connection stability figure as a WebSocket user's.
"""

from __future__ import annotations

import bisect
import itertools
import random
import time

import gevent
import gevent.pool
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

from ivv.load.connections import connection_events, count_pooled
from ivv.load.pacing import MAX_IN_FLIGHT, Backlog, Paced
from ivv.load.spec import LoadSpec, http_operation

PENDING = {"calls": 0}      # calls sent and not yet answered, in this process (the open model's)


class RestUser(FastHttpUser):
    """Base: a weighted mix of operations, a per-user budget and an end time (like the JSON-RPC users)."""

    abstract = True
    spec: LoadSpec
    token: str | None = None
    end_at: float = float("inf")
    wait_time = constant(0)
    insecure = True                 # set per run from the spec (tls_verify)
    connects_first = False          # connections open with the first calls: a spawned user is ready

    def on_start(self) -> None:
        self.calls = [(t.method, *http_operation(t.method, self.spec.source), t.params) for t in self.spec.tasks]
        self.cum_weights = list(itertools.accumulate(t.weight for t in self.spec.tasks))
        self.budget = max(1, self.spec.max_requests // max(1, self.spec.users))
        self.headers = {"Authorization": f"Bearer {self.token}"} if self.spec.authenticate and self.token else {}
        hook = connection_events(self.environment)
        count_pooled(self.client.client, lambda state: hook.fire(state=state))

    def pick(self):
        return self.calls[bisect.bisect(self.cum_weights, random.random() * self.cum_weights[-1])]

    def call(self) -> None:
        label, method, path, params = self.pick()
        self.client.request(method, path, name=label, headers=self.headers,
                            context={"kind": "call", "wall": time.time(), "sent": True, "lag_ms": 0.0},
                            **_body(method, params))


class ClosedRestUser(RestUser):
    abstract = True

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


class OpenRestUser(Paced, RestUser):
    """The open model: each due call in its own greenlet, timed from its due time."""

    abstract = True

    @task
    def run_calls(self) -> None:
        self.calls_in_flight = gevent.pool.Group()
        self.run_paced()
        self.calls_in_flight.join(timeout=self.spec.timeout_s + 0.5)
        while True:
            gevent.sleep(1)

    def send_due(self, due: float, wall: float, lag_ms: float) -> None:
        label, method, path, params = self.pick()
        context = {"kind": "call", "wall": wall, "sent": True, "lag_ms": lag_ms}
        if PENDING["calls"] >= MAX_IN_FLIGHT:
            self.environment.events.request.fire(
                request_type=method, name=label, response_time=(time.perf_counter() - due) * 1000.0,
                response_length=0, exception=Backlog(f"{label}: {MAX_IN_FLIGHT} calls in flight"),
                context={**context, "sent": False})
            return
        self.calls_in_flight.spawn(self.call_due, due, label, method, path, params, context)

    def call_due(self, due, label, method, path, params, context) -> None:
        PENDING["calls"] += 1
        try:
            with self.client.request(method, path, name=label, headers=self.headers, context=context,
                                     catch_response=True, **_body(method, params)) as response:
                response.request_meta["response_time"] = (time.perf_counter() - due) * 1000.0
        finally:
            PENDING["calls"] -= 1


def _body(method: str, params):
    """A task's params: the query of a GET, the JSON body otherwise."""
    if params is None:
        return {}
    return {"params": params} if method == "GET" else {"json": params}


def make_user_class(spec: LoadSpec, token: str | None) -> type[RestUser]:
    """The concrete user for a run; the same name in every process so Locust workers find it."""
    base = OpenRestUser if spec.open_model else ClosedRestUser
    return type("RestLoadUser", (base,), {
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
    """Calls still waiting for an answer once the users stop (the open model's; none in the closed)."""
    return PENDING["calls"]
