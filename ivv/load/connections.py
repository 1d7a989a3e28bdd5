"""The connections a load user opened, lost or could not open: one event, whatever the protocol.

A JSON-RPC user fires it from its WebSocket's life (`ivv.load.jsonrpc_user`); a REST user from its
keep-alive pool (`count_pooled`); `ivv.load.recorder` counts the states into the run's connection
stability (kept / opened, `ivv.load.stats.stability`).

Over HTTP a connection kept is a keep-alive socket reused until the end of the run. One the service
closed (an answer with `Connection: close`, an HTTP/1.0 answer, an idle timeout found when the socket is
due again) or that broke mid-call is dropped, and the next call opens another: a service that closes
after every answer keeps none of its connections, as a WebSocket service dropping every client would.
"""

from __future__ import annotations

from collections.abc import Callable

from locust.event import EventHook


def connection_events(environment) -> EventHook:
    """The `connection(state=...)` hook: opened, failed, dropped, closed. Added once per environment."""
    hook = getattr(environment.events, "connection", None)
    if hook is None:
        hook = EventHook()
        environment.events.connection = hook
    return hook


def count_pooled(user_agent, fire: Callable[[str], None]) -> None:
    """Count the keep-alive sockets of a FastHttpUser's user agent (geventhttpclient): each HTTP client
    it creates gets its connection pool counted (`_count_pool`). Where the agent has no client pool to
    hook (another geventhttpclient) nothing is counted, so stability is no observation (NOT VERIFIED),
    never a 100 % nobody measured."""
    clients = getattr(user_agent, "clientpool", None)
    get_client = getattr(clients, "get_client", None)
    if get_client is None:
        return
    counted: set[int] = set()

    def client_for(url):
        client = get_client(url)
        if id(client) not in counted:
            counted.add(id(client))
            _count_pool(getattr(client, "_connection_pool", None), fire)
        return client

    clients.get_client = client_for


def _count_pool(pool, fire: Callable[[str], None]) -> None:
    """A socket created is opened, one that could not connect failed; one the pool gave up (released as
    unusable, or found closed when due for reuse) dropped. The pool never holds more live sockets than
    its size, so a socket created while that many are counted live replaces one lost unseen: that loss
    is counted too, so a close path this does not hook still shows."""
    hooks = ("_create_socket", "release_socket", "_is_socket_alive", "size")
    if pool is None or not all(hasattr(pool, name) for name in hooks):
        return
    create, release, alive = pool._create_socket, pool.release_socket, pool._is_socket_alive
    live = [0]

    def lost() -> None:
        live[0] = max(0, live[0] - 1)
        fire("dropped")

    def create_socket():
        try:
            sock = create()
        except Exception:
            fire("failed")
            raise
        if live[0] >= pool.size:
            lost()
        live[0] += 1
        fire("opened")
        return sock

    def release_socket(sock) -> None:
        if not getattr(pool, "_closed", False):
            lost()
        release(sock)

    def is_socket_alive(sock) -> bool:
        ok = alive(sock)
        if not ok and sock is not None:
            lost()
        return ok

    pool._create_socket, pool.release_socket, pool._is_socket_alive = create_socket, release_socket, is_socket_alive
