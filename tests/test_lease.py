"""Leases on a shared device (the mechanism, over a real shell on this machine): one holder at a time,
a wait that gives up with a message naming the holder, release, and takeover of an expired lease that
both sides notice."""

import time

import pytest

from ivv.targets.lease import Lease, LeaseUnavailable
from ivv.targets.local import LocalTarget


@pytest.fixture
def device(tmp_path):
    return LocalTarget("bench"), str(tmp_path / "lease")


def test_one_holder_at_a_time_and_release(device):
    target, path = device
    first, second = Lease(target, "run-a", 60, path), Lease(target, "run-b", 60, path)
    assert first.try_acquire()[0] == "ACQUIRED"
    state, info = second.try_acquire()
    assert state == "HELD" and info.run_id == "run-a"
    lines = []
    with pytest.raises(LeaseUnavailable, match="leased by run run-a .*gave up after waiting 1 s"):
        second.acquire(wait_s=1, progress=lines.append)
    assert lines and "waiting" in lines[0]
    assert first.try_acquire()[0] == "RENEWED"
    first.release()
    assert second.acquire(wait_s=0).run_id == "run-b"


def test_an_expired_lease_is_taken_over_and_the_old_holder_knows(device):
    target, path = device
    killed = Lease(target, "run-killed", 1, path)
    killed.acquire()
    time.sleep(2.2)
    taker = Lease(target, "run-new", 60, path)
    info = taker.acquire(wait_s=0)
    assert info.run_id == "run-new" and info.taken_over_from == "run-killed"
    assert not killed.renew() and "run-new took over" in killed.lost
    killed.release()                      # a run that lost its lease removes nothing
    assert taker.read().run_id == "run-new"


def test_a_kept_lease_outlives_its_time(device):
    target, path = device
    kept = Lease(target, "run-alive", 2, path)
    kept.acquire()
    kept.keep()
    time.sleep(3)
    assert Lease(target, "run-other", 60, path).try_acquire()[0] == "HELD"
    kept.release()
    assert Lease(target, "run-other", 60, path).try_acquire()[0] == "ACQUIRED"
