"""Upload purging: age from ``startedat``, dry run, backend pending uploads aborted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from distribution_storage.driver.contract import StorageDriver
from distribution_storage.driver.delegating import DelegatingDriver
from distribution_storage.layout import upload_dir, upload_started_at_path
from distribution_storage.registry import Registry


def _upload(registry: Registry, name: str, started: datetime | None) -> str:
    with registry.repository(name).uploads.create() as upload:
        upload.write(b"partial")
    path = upload_started_at_path(name, upload.id)
    if started is None:
        registry.driver.delete(path)
    else:
        registry.driver.put_content(path, started.strftime("%Y-%m-%dT%H:%M:%SZ").encode())
    return upload.id


def _exists(driver: StorageDriver, path: str) -> bool:
    try:
        driver.stat(path)
    except FileNotFoundError:
        return False
    return True


def test_purge_removes_only_old_uploads(registry: Registry) -> None:
    now = datetime.now(UTC)
    old = _upload(registry, "a", now - timedelta(hours=200))
    fresh = _upload(registry, "a", now - timedelta(hours=1))
    nested = _upload(registry, "b/c", now - timedelta(days=30))
    report = registry.purge_uploads()
    assert {(r.name, r.upload_id) for r in report.purged} == {("a", old), ("b/c", nested)}
    assert report.kept == 1
    assert not _exists(registry.driver, upload_dir("a", old))
    assert not _exists(registry.driver, upload_dir("b/c", nested))
    assert _exists(registry.driver, upload_dir("a", fresh))
    registry.repository("a").uploads.resume(fresh).close()


def test_dry_run_removes_nothing(registry: Registry) -> None:
    old = _upload(registry, "a", datetime.now(UTC) - timedelta(hours=200))
    report = registry.purge_uploads(dry_run=True)
    assert [r.upload_id for r in report.purged] == [old]
    assert _exists(registry.driver, upload_dir("a", old))


def test_age_is_configurable(registry: Registry) -> None:
    upload = _upload(registry, "a", datetime.now(UTC) - timedelta(hours=2))
    assert registry.purge_uploads().purged == []
    assert [r.upload_id for r in registry.purge_uploads(older_than=timedelta(hours=1)).purged] == [
        upload
    ]


def test_missing_startedat_falls_back_to_data_age(registry: Registry) -> None:
    upload = _upload(registry, "a", None)
    assert registry.purge_uploads().purged == []
    later = datetime.now(UTC) + timedelta(hours=169)
    assert [r.upload_id for r in registry.purge_uploads(now=later).purged] == [upload]


class _PendingUploadsDriver(DelegatingDriver):
    """A real driver that records ``abort_pending_uploads`` calls, as object stores get them."""

    calls: list[tuple[str, datetime]]

    def abort_pending_uploads(self, path: str, *, older_than: datetime) -> int:
        self.calls.append((path, older_than))
        return 3


def test_purge_aborts_backend_pending_uploads(driver: StorageDriver) -> None:
    recording = _PendingUploadsDriver(driver)
    recording.calls = []
    registry = Registry(recording)
    now = datetime.now(UTC)
    report = registry.purge_uploads(now=now)
    assert report.pending_aborted == 3
    assert recording.calls == [("/docker/registry/v2/repositories", now - timedelta(hours=168))]
    registry.purge_uploads(dry_run=True)
    assert len(recording.calls) == 1
