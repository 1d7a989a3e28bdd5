"""The stack under test, behind one interface whatever runs it.

- `base`: the Stack interface (capabilities, status, where it answers, readiness, credentials).
- `components`: its components (systemd unit, plain process, container) and what each kind can do.
- `api`: the API it speaks (protocol, URL, TLS, login); the protocols themselves live in `ivv.protocols`.
- `local`: a process tree ivv starts here; `remote`: a stack reached through a target's shell;
  `device`: one ivv deployed; `endpoint`: one ivv did not deploy.
- `credentials`: the one place that obtains a stack's secrets; `release`: release archives, built
  reproducibly and pinned per run; `transport`: the API served with TLS for the transport check.
"""
