"""Contract suite: the stack's JSON-RPC API checked against its OpenRPC contract.

Thin on purpose: the checks live in ivv.contract; the endpoint, credentials, probe and the
`contract_setting` reader come from the shared fixtures (ivv.fixtures.rpc); budgets and thresholds from
the gate (`contract.*` settings). Every test runs once per selected target (through `rpc_stack`).
"""
