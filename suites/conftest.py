"""Gate run timing: how long booting, deploying and each suite took, written to the manifest (`phases`).

Boot is the first setup of the `target` fixture (a virtual device boots there), deploy the first setup of
`deployed_stack` or the deployment suite's fresh install; a suite's time is its tests' wall time minus
any boot/deploy that happened inside it.
"""

from ivv.pytestplugin.phases import PhaseClock


def pytest_configure(config):
    if not config.pluginmanager.has_plugin("ivv-phases"):
        config.pluginmanager.register(PhaseClock(), "ivv-phases")
