"""JSON-RPC 2.0 over WebSocket, as the checks and probes speak it.

`client` is the synchronous client that keeps every exchange (`RpcClient`, `Exchange`, and `Reply`, the
one reply type: a frame, or how the connection ended instead); `auth` holds the credentials of a stack
and the one JWT builder (`claims`, `sign`: algorithm and claim names as parameters); `tls` inspects and
provisions transport security (trust, lab CA, handshake facts, which environment is judged);
`refusals` says which documented refusal answers each reason (authentication, permission, rate, size):
only that one counts as the refusal.
"""
