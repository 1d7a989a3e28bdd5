"""Configuration files, each read by the one YAML loader and checked against its JSON Schema.

- `loader`: read YAML (duplicate keys refused), validate, and name file, line and field in every error.
- `gates`: gate files and the GateSet of a run (criteria, thresholds, settings); `waivers`: waiver files.
- `inventory`: the devices a run may use; `profile`: what a stack is (ports, components, paths, auth,
  deployment). `schemas/`: the JSON Schemas.
"""
