"""Baselines in a gate run (`--ivv-baseline RUN`, set by `ivv gate --baseline RUN_OR_DIR`): the
baseline's figures, samples and digests are copied into the bundle when the session starts (so the
report renders from the bundle alone), and when it ends every regression limit of the gate is judged on
every device against them (criteria trend.*; ivv.evidence.baseline). A gate with limits and no baseline
leaves those criteria NOT VERIFIED.
"""

from __future__ import annotations

import pytest

from ivv.errors import ConfigError


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("ivv").addoption("--ivv-baseline", default=None, metavar="RUN",
                                     help="a run bundle the gate's regression limits are judged against")


def _bundle(config: pytest.Config):
    from ivv.pytestplugin.plugin import STATE

    state = config.stash.get(STATE, None)
    return state.bundle if state is not None else None


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    from ivv.evidence import baseline

    path, bundle = session.config.getoption("ivv_baseline", None), _bundle(session.config)
    if path and bundle is not None:
        try:
            baseline.copy_into(bundle, baseline.resolve(path, exclude=bundle.path))
        except ConfigError as exc:
            raise pytest.UsageError(f"ivv: {exc}") from None


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Before the plugin's own (trylast) finish seals the bundle and renders the report."""
    from ivv.evidence import baseline

    bundle = _bundle(session.config)
    if bundle is not None and not session.config.option.collectonly:
        baseline.record_trends(bundle)
