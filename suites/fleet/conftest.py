"""Fleet suite: collected only when a loaded gate has a fleet criterion (the shipped `fleet` gate), so a
run of the other gates records nothing it did not ask for."""

from ivv.pytestplugin.plugin import STATE


def pytest_ignore_collect(collection_path, config):
    state = config.stash.get(STATE, None)
    gates = state.gates if state is not None else None
    if collection_path.suffix == ".py" and not any(c.suite == "fleet" for c in (gates.criteria if gates else ())):
        return True
    return None
