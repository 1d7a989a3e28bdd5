"""The ivv pytest plugin (the `pytest11` entry point `ivv`): loaded by any pytest run where ivv is installed.

- `plugin.py`: options, markers, the `evidence` / `ivv_gates` / `ivv_bundle` fixtures and the session hooks
  that turn test outcomes into evidence, verdicts and the gate-review report.
- `rerun.py`: run only the tests of some criteria (`--ivv-criteria`), naming the bundle re-run.
- `selection.py`: which tests a run left out (deselected, not collected, never run).
- `endpoint.py`: gaps for the install criteria of a stack ivv did not deploy (`-p ivv.pytestplugin.endpoint`).
- `phases.py`: the gate run's phase clock (boot, deploy, each suite) written to the manifest.
- `baseline.py`: `--ivv-baseline`: the baseline copied into the bundle, the regression limits judged at
  the end (criteria trend.*).
- `ivv.fleet.plugin` (loaded here too): each device's pre-run health check, and suites a device marked
  not destructive must not run.
- The fixtures suites use (`target`, `host`, `profile`, `deployed_stack`, `rpc_stack`, `contract`, ...)
  come from `ivv.fixtures` (the repository's top-level `fixtures/`), loaded here so a team's own
  repository gets them from an installed ivv without a conftest.
"""

import pytest

pytest_plugins = ["ivv.pytestplugin.plugin", "ivv.pytestplugin.rerun", "ivv.pytestplugin.baseline", "ivv.fleet.plugin"]
FIXTURES = ("ivv.fixtures.targets", "ivv.fixtures.stack", "ivv.fixtures.rpc")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Register the fixture modules after every entry-point plugin, so ours win over a plugin's fixture of
    the same name (testinfra's own `host`)."""
    for name in FIXTURES:
        if not config.pluginmanager.has_plugin(name):
            config.pluginmanager.import_plugin(name)
