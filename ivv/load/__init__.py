"""Load testing of JSON-RPC over WebSocket and HTTP (REST) services with Locust.

`spec` says what load to apply (from the gate's `load` settings; the URL's scheme names the protocol),
`jsonrpc_user` is the JSON-RPC Locust user, `http_user` the REST one (FastHttpUser), both in the closed
and the open model, whose schedule `pacing` keeps; `runner` runs Locust as a library, `distributed` runs master + workers,
`remote` starts workers on load-generator hosts over SSH (inventory `role: loadgen`),
`stats` turns the recorded requests into HDR percentiles, `resources` samples the service on the
target, `launch` runs a load in its own process (Locust monkey-patches with gevent, so it never shares
a process with asyncio code); its latency and memory plots are drawn by `ivv.report.plots`.
`connections` is the one connection event both users fire (a REST user's from its keep-alive pool);
`recorder` collects every request event as plain tuples; `figures` turns one outcome into the gate's
figures; `suite` is what the performance suite does (run the gate's load, record evidence).
`capacity` is the capacity search as pure logic (next rate, when to stop), `capacity_run` runs it in the
load process, `capacity_record` builds its spec from the gate and records it (perf.capacity).
`frames` says which camera frames count and gives the fps figure; `camera_watch` reads them during a
load, as a client would (perf.camera_fps).
"""
