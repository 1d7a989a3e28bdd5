"""Load testing of JSON-RPC over WebSocket services with Locust.

`spec` says what load to apply (from the gate's `load` settings), `jsonrpc_user` is the Locust user,
`runner` runs Locust as a library (closed and open model), `distributed` runs master + workers,
`stats` turns the recorded requests into HDR percentiles, `resources` samples the service on the
target, `launch` runs a load in its own process (Locust monkey-patches with gevent, so it never shares
a process with asyncio code); its latency and memory plots are drawn by `ivv.report.plots`.
"""
