"""Root conftest: the shared fixtures every suite and self-test can use.

The evidence spine itself (options, `evidence` fixture, verdicts, reports) is the `ivv` pytest plugin,
loaded through its pytest11 entry point.
"""

pytest_plugins = ["fixtures.targets", "fixtures.stack", "fixtures.rpc"]
