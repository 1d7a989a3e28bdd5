"""Security probes: attack the service's authentication, session, exposure and limit claims from outside.

`surface` says where and how to attack (endpoint, contract roles, credentials) and names the criteria;
`wire` runs named connections into one transcript with secrets described, never shown; `tokens` makes
hostile JWTs on top of `ivv.rpc.auth`; `authn` tries every way in that must stay shut; `sessions`
checks that one connection's login never reaches another; `leaks` is the one list of what an error must
not give away and `disclosure` provokes errors and scans them; `limits` the rate and size limits;
`traversal` the file routes; `exposure` the listening sockets and process users; `context` gathers
what the suite needs about one running stack; `findings` builds facts in the old argument order for
`exposure`. Every probe returns `ivv.evidence.facts.Fact` or `Undecided` with the exchange that decided it.
"""
