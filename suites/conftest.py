"""Gate run timing: how long booting, deploying and each suite took, written to the manifest (`phases`).

Boot is the first setup of the `target` fixture (a virtual device boots there), deploy the first setup of
`deployed_stack`; a suite's time is its tests' wall time minus any boot/deploy that happened inside it.
"""

from ivv.phases import PhaseClock

_clock = PhaseClock()

pytest_fixture_setup = _clock.fixture_setup_hook()
pytest_runtest_protocol = _clock.runtest_hook()
pytest_sessionfinish = _clock.sessionfinish_hook()
