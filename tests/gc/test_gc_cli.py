"""The gc and purge-uploads commands: distribution's flags, JSON reports, one-line errors."""

from __future__ import annotations

import gc as python_gc
import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.images import Images
from support.manifests import plant_corrupt_manifest, refused_forms

from distribution_storage import open_driver
from distribution_storage.cli import main
from distribution_storage.layout import Digest
from distribution_storage.registry import Registry


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "distribution_storage.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def make_store(tmp_path: Path) -> tuple[Path, Registry, Images]:
    root = tmp_path / "store"
    config = tmp_path / "config.yml"
    config.write_text(
        f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {root}\n"
        "  delete:\n    enabled: true\nhttp:\n  addr: :5000\n"
    )
    registry = Registry(open_driver("filesystem", rootdirectory=str(root)))
    return config, registry, Images(registry)


def test_gc_with_distributions_short_flags(tmp_path: Path) -> None:
    config, registry, images = make_store(tmp_path)
    kept = images.image("app", tag="v1")
    doomed = images.image("app")
    dry = run_cli("gc", str(config), "-d", "-m", "--grace-period", "0")
    assert dry.returncode == 0, dry.stderr
    assert f"app: manifest eligible for deletion: {doomed.digest}" in dry.stdout
    assert "4 blobs marked, 4 blobs and 1 manifests eligible for deletion" in dry.stdout
    assert doomed.digest in {b.digest for b in registry.blobs}
    real = run_cli("garbage-collect", str(config), "-m", "-q", "--grace-period", "0")
    assert real.returncode == 0, real.stderr
    assert real.stdout.strip() == "4 blobs marked, 4 blobs and 1 manifests eligible for deletion"
    blobs = {b.digest for b in registry.blobs}
    assert doomed.digest not in blobs and kept.digest in blobs


def test_gc_json_report_and_plan(tmp_path: Path) -> None:
    config, registry, images = make_store(tmp_path)
    images.image("app", tag="v1")
    doomed = images.image("app")
    result = run_cli("gc", str(config), "--dry-run", "-m", "--grace-period", "0", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["manifests_deleted"] == 1
    assert report["bytes_freed"] > 0
    assert {d["reason"] for d in report["deletions"]} == {
        "untagged",
        "unreferenced",
        "blob not referenced",
    }
    plan = tmp_path / "plan.json"
    plan.write_text(result.stdout)
    applied = run_cli("gc", str(config), "-m", "--grace-period", "0", "--plan", str(plan))
    assert applied.returncode == 0, applied.stderr
    assert doomed.digest not in {b.digest for b in registry.blobs}


def test_gc_default_grace_period_protects_fresh_garbage(tmp_path: Path) -> None:
    config, registry, images = make_store(tmp_path)
    images.image("app", tag="v1")
    doomed = images.image("app")
    result = run_cli("gc", str(config), "-m")
    assert result.returncode == 0
    assert "0 blobs and 0 manifests eligible for deletion" in result.stdout
    assert doomed.digest in {b.digest for b in registry.blobs}


def test_gc_on_a_corrupt_manifest_is_one_line_and_deletes_nothing(tmp_path: Path) -> None:
    config, registry, images = make_store(tmp_path)
    images.image("app", tag="v1")
    bad = b"{broken"
    digest = Digest.of(bad)
    with registry.repository("app").uploads.create() as upload:
        upload.write(bad)
        upload.commit(digest)
    registry.driver.put_content(
        f"/docker/registry/v2/repositories/app/_manifests/revisions/sha256/{digest.hex}/link",
        str(digest).encode(),
    )
    before = {b.digest for b in registry.blobs}
    result = run_cli("gc", str(config), "-m", "--grace-period", "0")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert f"app {digest}: invalid manifest: manifest is not valid JSON" in lines[0]
    assert {b.digest for b in registry.blobs} == before


def test_gc_bad_flags_and_configs(tmp_path: Path) -> None:
    config, _, _ = make_store(tmp_path)
    bad_grace = run_cli("gc", str(config), "--grace-period", "soon")
    assert bad_grace.returncode == 1
    assert "--grace-period: 'soon' is not a duration" in bad_grace.stderr
    missing = run_cli("gc", str(tmp_path / "nope.yml"))
    assert missing.returncode == 1
    assert "no such configuration file" in missing.stderr
    no_workers = run_cli("gc", str(config), "--workers", "0")
    assert no_workers.returncode == 1
    assert no_workers.stderr.strip().endswith("--workers must be at least 1, not 0")
    assert "Traceback" not in no_workers.stderr


def test_purge_uploads_removes_only_old_uploads(tmp_path: Path) -> None:
    config, registry, _ = make_store(tmp_path)
    repo = registry.repository("app")
    old = repo.uploads.create()
    old.write(b"abandoned")
    old.close()
    registry.driver.put_content(
        f"/docker/registry/v2/repositories/app/_uploads/{old.id}/startedat",
        b"2020-01-01T00:00:00Z",
    )
    fresh = repo.uploads.create()
    fresh.write(b"in progress")
    fresh.close()
    dry = run_cli("purge-uploads", str(config), "-d")
    assert dry.returncode == 0, dry.stderr
    assert f"would purge upload app/{old.id}" in dry.stdout
    real = run_cli("purge-uploads", str(config), "--older-than", "24h", "--json")
    assert real.returncode == 0, real.stderr
    body = json.loads(real.stdout)
    assert [item["upload"] for item in body["purged"]] == [old.id]
    assert body["kept"] == 1
    repo.uploads.resume(fresh.id).close()


def test_demo_populates_and_collects(tmp_path: Path) -> None:
    result = run_cli("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 manifests eligible for deletion" in result.stdout
    assert "catalog: ['demo/app']" in result.stdout
    assert (tmp_path / "registry-data" / "docker" / "registry" / "v2" / "blobs").is_dir()


def test_a_store_that_is_not_a_registry_store_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "not-a-store"
    (root / "some").mkdir(parents=True)
    (root / "some" / "file").write_bytes(b"precious")
    config = tmp_path / "config.yml"
    config.write_text(f"storage:\n  filesystem:\n    rootdirectory: {root}\n")
    for command in (["gc", "-m", "--grace-period", "0"], ["fsck"]):
        result = run_cli(*command, str(config))
        assert result.returncode == 1
        assert result.stderr.strip() == (
            "distribution-storage: error: filesystem: not a registry store: "
            "/docker/registry/v2 does not exist (check rootdirectory, bucket or container)"
        )
    assert (root / "some" / "file").read_bytes() == b"precious"


def test_gc_pauses_the_cyclic_collector_only_while_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The package's names shadow these modules' names as attributes: fetch the modules.
    fsck_module = importlib.import_module("distribution_storage.fsck")
    gc_module = importlib.import_module("distribution_storage.gc")

    config, _, images = make_store(tmp_path)
    images.image("app", tag="v1")
    seen: list[tuple[str, bool]] = []
    collect, check = gc_module.collect_garbage, fsck_module.fsck

    def spy_collect(*args: Any, **kwargs: Any) -> Any:
        seen.append(("gc", python_gc.isenabled()))
        return collect(*args, **kwargs)

    def spy_fsck(*args: Any, **kwargs: Any) -> Any:
        seen.append(("fsck", python_gc.isenabled()))
        return check(*args, **kwargs)

    monkeypatch.setattr(gc_module, "collect_garbage", spy_collect)
    monkeypatch.setattr(fsck_module, "fsck", spy_fsck)
    assert python_gc.isenabled()
    assert main(["gc", str(config), "-q", "--grace-period", "0"]) == 0
    assert python_gc.isenabled()
    assert main(["fsck", str(config)]) == 0
    assert python_gc.isenabled()
    assert main(["gc", str(tmp_path / "missing.yml")]) == 1  # a failure restores it too
    assert python_gc.isenabled()
    assert seen == [("gc", False), ("fsck", True)]  # fsck gained nothing from it
    python_gc.disable()  # a caller that turned it off keeps it off
    try:
        assert main(["gc", str(config), "-q", "--grace-period", "0"]) == 0
        assert not python_gc.isenabled()
    finally:
        python_gc.enable()


@pytest.mark.parametrize("form", ["nan", "utf-16", "size-over-int64", "nested-100000"])
def test_gc_names_a_manifest_distribution_cannot_read_in_one_line(
    tmp_path: Path, form: str
) -> None:
    config, registry, images = make_store(tmp_path)
    images.image("app", tag="v1")
    payload = refused_forms(images.image("broken/repo").payload)[form]
    bad = plant_corrupt_manifest(registry, "broken/repo", payload)
    before = {b.digest for b in registry.blobs}
    result = run_cli("gc", str(config), "-m", "--grace-period", "0")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("distribution-storage: error: ")
    assert f"broken/repo {bad}: invalid manifest: " in lines[0]
    assert {b.digest for b in registry.blobs} == before
