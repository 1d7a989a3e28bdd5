"""The shipped health suite's tests, as they are (imported, not copied); the fleet self-tests copy this
file as suites/health/test_truth.py and health_conftest.py as its conftest.py."""

from ivv.suites.health.test_health import (  # noqa: F401 - collected by pytest from here
    test_endpoints_match_schema_and_status_codes,
    test_readiness_follows_the_dependency,
)
