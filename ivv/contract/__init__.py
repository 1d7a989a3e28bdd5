"""The API contract: an OpenRPC document and the checks a service must pass against it.

`document` loads and checks the OpenRPC file and validates params, results and notifications;
`probe` is how a check reaches the service (`Probe`, `Observed`, `harvest`, `produce`); `params` builds
params that should succeed (examples, values the service returned, a hypothesis strategy) and orders
methods producers first; `outcome` is the one rule judging a reply to a call (an internal error is never
conformance); `compliance` is the JSON-RPC 2.0 compliance matrix; `authmatrix` every method x every
credential kind, refusals judged by meaning (`ivv.rpc.refusals`); `conformance` calls every method with
valid params and validates the results; `drift` compares what is documented with what was observed;
`notifications` times the documented notifications and decides their latency; `transport` the wss://
session and the plain ws:// refusal; `fuzzcases` the bad inputs and `fuzz` the runner that sends them,
shrinks failures and replays them; `boundary` meets every param constraint from both sides, each with
its control; `matrix` turns a table of facts into evidence. For REST APIs described by OpenAPI,
`openapi` runs conformance and fuzzing on schemathesis and `http_compliance` is the HTTP counterpart of
the compliance matrix (404, 405 with Allow, 400, 415, 406), each probe with its control. Every check returns
`ivv.evidence.facts.Fact` or `Undecided`; nothing here knows about pytest.
"""
