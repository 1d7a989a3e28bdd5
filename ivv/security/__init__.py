"""Security probes: attack the service's authentication, session, exposure and limit claims from outside.

`surface` says where and how to attack (endpoint, contract roles, credentials, the documented refusal of
each reason, valid params with real values) and names the criteria; `wire` runs named connections into
one transcript with secrets described, never shown; `tokens` makes hostile JWTs on top of `ivv.rpc.auth`
and judges the configured secret; `logins` judges one login the one way (the protected call after it
decides); `authn` tries every credential that must stay shut, each family under its positive control;
`access` checks protected methods without logging in and with a role too low; `expiry` a session whose
token expires; `sessions` that one connection's login never reaches another; `leaks` is the one list of
what an error must not give away and `disclosure` provokes errors and scans them; `limits` the rate and
size limits; `traversal` the file routes; `exposure` the listening sockets and process users; `context`
gathers what the suite needs about one running stack; `openapi_auth` is the auth matrix of a REST API
(every protected operation x hostile credentials, under the same positive control), `openapi_sessions`
its session isolation (clients with different tokens taking turns). Every probe returns `ivv.evidence.facts.Fact` or `Undecided` with the exchange that
decided it; a refusal counts only as the documented refusal for its reason (`ivv.rpc.refusals`).
"""
