"""Root conftest of the ivv repository.

Nothing to load here: the evidence spine and the shared fixtures come from the `ivv` pytest plugin
(`ivv.pytestplugin`, a pytest11 entry point), the same way a team's own repository gets them.
"""
