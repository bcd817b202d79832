"""The fault-injecting middleware: failures on chosen calls, at a rate, and short reads."""

from __future__ import annotations

import logging
import threading

import pytest

from distribution_storage import StorageDriverError, open_driver
from distribution_storage.config import open_storage, parse_config
from distribution_storage.driver.middleware import apply_middleware
from distribution_storage.driver.middleware.faults import FaultInjectingDriver, InjectedFaultError


def test_the_nth_call_of_a_chosen_verb_fails_and_others_pass() -> None:
    driver = apply_middleware(
        open_driver("inmemory"), "faults", {"verbs": "put_content", "failon": 3}
    )
    driver.put_content("/a", b"1")
    driver.put_content("/b", b"2")
    with pytest.raises(InjectedFaultError) as caught:
        driver.put_content("/c", b"3")
    assert isinstance(caught.value, ConnectionError)
    assert isinstance(caught.value, StorageDriverError)
    driver.put_content("/d", b"4")
    assert driver.list("/") == ["/a", "/b", "/d"]
    assert driver.get_content("/a") == b"1"  # get_content is not affected


def test_fail_after_models_a_backend_that_goes_away() -> None:
    driver = FaultInjectingDriver(open_driver("inmemory"), fail_after=2)
    driver.put_content("/a", b"1")
    driver.stat("/a")
    for _ in range(3):
        with pytest.raises(InjectedFaultError):
            driver.list("/")


def test_fail_rate_is_repeatable_with_a_seed() -> None:
    def outcomes() -> list[bool]:
        driver = FaultInjectingDriver(open_driver("inmemory"), fail_rate=0.3, seed=7)
        results = []
        for index in range(200):
            try:
                driver.put_content(f"/f{index}", b"x")
                results.append(True)
            except InjectedFaultError:
                results.append(False)
        return results

    first = outcomes()
    assert first == outcomes()
    failures = first.count(False)
    assert 30 < failures < 90


def test_truncated_reads_end_early_without_error() -> None:
    driver = FaultInjectingDriver(open_driver("inmemory"), truncate_reads=10)
    driver.put_content("/blob", b"0123456789abcdef")
    with driver.reader("/blob") as stream:
        assert stream.read() == b"0123456789"
    with driver.reader("/blob") as stream:
        assert stream.read(4) == b"0123"
        assert stream.read(100) == b"456789"
        assert stream.read(100) == b""


def test_writer_operations_can_fail() -> None:
    driver = FaultInjectingDriver(open_driver("inmemory"), verbs=["commit"], fail_on=1)
    writer = driver.writer("/w")
    writer.write(b"data")
    with pytest.raises(InjectedFaultError):
        writer.commit()


def test_configured_from_config_yml() -> None:
    config = parse_config(
        "storage: inmemory\nmiddleware:\n  storage:\n    - name: faults\n"
        "      options: {verbs: 'stat,list', failafter: '0', latency: 1ms}\n",
        environ={},
    )
    driver = open_storage(config)
    driver.put_content("/a", b"x")
    with pytest.raises(InjectedFaultError):
        driver.stat("/a")


def test_bad_fault_options_are_rejected() -> None:
    with pytest.raises(StorageDriverError, match="failrate"):
        apply_middleware(open_driver("inmemory"), "faults", {"failrate": 2})
    with pytest.raises(StorageDriverError, match="unknown option 'failrat'"):
        apply_middleware(open_driver("inmemory"), "faults", {"failrat": 0.1})


def test_calls_after_stallafter_stall_until_the_driver_is_closed() -> None:
    driver = FaultInjectingDriver(open_driver("inmemory"), verbs=["stat"], stall_after=1)
    driver.put_content("/a", b"x")
    assert driver.stat("/a").size == 1  # the first call goes through
    stalling, done = threading.Event(), threading.Event()
    warnings: list[str] = []

    class Reported(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            warnings.append(record.getMessage())
            stalling.set()

    reported = Reported(logging.WARNING)
    logging.getLogger("distribution_storage.faults").addHandler(reported)
    try:
        stalled = threading.Thread(target=lambda: (driver.stat("/a"), done.set()), daemon=True)
        stalled.start()
        assert stalling.wait(60), "the second call did not stall"
    finally:
        logging.getLogger("distribution_storage.faults").removeHandler(reported)
    assert warnings == ["faults: stat call 2 (/a) stalls for 3600s"]
    assert not done.is_set()  # warned, then waiting: nothing can set it before the release
    driver.close()  # releases it
    assert done.wait(60), "closing the driver did not release the stalled call"
