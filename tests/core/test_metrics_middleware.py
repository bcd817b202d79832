"""The ``metrics`` middleware exports call times and errors to Prometheus, in distribution's
names, when configured in ``config.yml`` and ``prometheus-client`` is installed."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from distribution_storage import PathNotFoundError
from distribution_storage.config import open_storage, parse_config
from distribution_storage.driver.middleware.metrics import PrometheusDriver
from distribution_storage.layout import Digest
from distribution_storage.registry import Registry


def sample(name: str, **labels: str) -> float:
    value = REGISTRY.get_sample_value(name, labels)
    return 0.0 if value is None else value


def calls(driver: str, action: str) -> float:
    return sample("registry_storage_action_seconds_count", driver=driver, action=action)


def errors(driver: str, action: str, error: str) -> float:
    labels = {"driver": driver, "action": action, "error": error}
    return sample("registry_storage_action_errors_total", **labels)


@pytest.fixture
def storage(tmp_path: Path) -> PrometheusDriver:
    config = parse_config(
        f"storage:\n  filesystem:\n    rootdirectory: {tmp_path}\n"
        "middleware:\n  storage:\n    - name: metrics\n"
    )
    driver = open_storage(config)
    wrapped = driver
    while not isinstance(wrapped, PrometheusDriver):
        wrapped = wrapped.inner  # type: ignore[attr-defined]
    return wrapped


def test_each_call_is_counted_and_timed_by_driver_and_action(storage: PrometheusDriver) -> None:
    before = {verb: calls("filesystem", verb) for verb in ("put_content", "stat", "walk")}
    storage.put_content("/a/b", b"x")
    storage.put_content("/a/c", b"y")
    assert storage.stat("/a/b").size == 1
    assert [info.path for info in storage.walk("/a")] == ["/a/b", "/a/c"]
    assert calls("filesystem", "put_content") == before["put_content"] + 2
    assert calls("filesystem", "stat") == before["stat"] + 1
    assert calls("filesystem", "walk") == before["walk"] + 1
    seconds = sample("registry_storage_action_seconds_sum", driver="filesystem", action="stat")
    assert seconds > 0
    assert storage.snapshot()["put_content"] == 2  # the tools' own counts still work


def test_errors_are_counted_by_class(storage: PrometheusDriver) -> None:
    before = errors("filesystem", "get_content", "PathNotFoundError")
    walk_before = errors("filesystem", "walk", "PathNotFoundError")
    with pytest.raises(PathNotFoundError):
        storage.get_content("/missing")
    with pytest.raises(PathNotFoundError):
        list(storage.walk("/missing"))
    assert errors("filesystem", "get_content", "PathNotFoundError") == before + 1
    assert errors("filesystem", "walk", "PathNotFoundError") == walk_before + 1


def test_a_walk_left_unfinished_is_timed_and_not_an_error(storage: PrometheusDriver) -> None:
    for name in ("a", "b", "c"):
        storage.put_content(f"/{name}", b"x")
    before = calls("filesystem", "walk")
    walk = storage.walk("/")
    next(walk)
    walk.close()  # type: ignore[attr-defined]
    assert calls("filesystem", "walk") == before + 1
    assert errors("filesystem", "walk", "GeneratorExit") == 0


def test_a_registry_over_the_middleware_exports_its_calls(storage: PrometheusDriver) -> None:
    before = calls("filesystem", "put_content")
    repository = Registry(storage).repository("metered/app")
    with repository.uploads.create() as upload:
        upload.write(b"layer")
        upload.commit(Digest.of(b"layer"))
    assert calls("filesystem", "put_content") > before
