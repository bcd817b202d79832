"""GC against distribution's own: the same store, collected by both, compared blob by blob.

Stores are written by Debian's ``docker-registry serve`` (distribution 2.8.2) with random
histories; each is copied twice, one copy collected by ``docker-registry garbage-collect``,
the other by this SDK. Without ``--delete-untagged`` the surviving blobs must be identical.
With it, this SDK keeps a superset: exactly the children of tagged indexes (and what they
reference), which 2.8.2 deletes, breaking multi-arch images.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from support.http_history import HistoryClient, play_history
from support.interop import free_port, require_binary, running, write_config

from distribution_storage import open_driver
from distribution_storage.fsck import fsck
from distribution_storage.gc import collect_garbage
from distribution_storage.registry import Registry


def blob_files(root: Path) -> set[str]:
    return {p.parent.name for p in (root / "docker/registry/v2/blobs").rglob("data")}


def distribution_gc(binary: str, root: Path, config_dir: Path, *flags: str) -> str:
    config = write_config(config_dir / f"gc-{root.name}.yml", root, free_port())
    result = subprocess.run(
        [binary, "garbage-collect", *flags, str(config)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def written_by_distribution(tmp_path: Path, seed: int) -> Path:
    binary = require_binary("docker-registry")
    root = tmp_path / "original"
    root.mkdir()
    port = free_port()
    config = write_config(tmp_path / "serve.yml", root, port)
    with running([binary, "serve", str(config)], f"127.0.0.1:{port}") as address:
        history = play_history(HistoryClient(address), seed)
    assert history.manifests
    return root


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_without_delete_untagged_the_survivors_equal_distributions(
    tmp_path: Path, seed: int
) -> None:
    binary = require_binary("docker-registry")
    original = written_by_distribution(tmp_path, seed)
    theirs, ours = tmp_path / "theirs", tmp_path / "ours"
    shutil.copytree(original, theirs)
    shutil.copytree(original, ours)
    distribution_gc(binary, theirs, tmp_path)
    report = collect_garbage(
        Registry(open_driver("filesystem", rootdirectory=str(ours))), grace_period=0
    )
    assert blob_files(ours) == blob_files(theirs)
    assert report.blobs_deleted == len(blob_files(original)) - len(blob_files(theirs))
    # The store distribution's GC leaves is whole to fsck; the layer links it left behind
    # for the blobs it deleted are notes.
    checked = fsck(Registry(open_driver("filesystem", rootdirectory=str(theirs))))
    assert checked.whole, checked.damage
    left = {
        link.parent.name
        for link in (theirs / "docker/registry/v2/repositories").rglob("_layers/sha256/*/link")
        if link.parent.name not in blob_files(theirs)
    }
    noted = {f.digest.split(":")[1] for f in checked.notes if f.kind == "layer-link-dangling"}
    assert noted == left


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_with_delete_untagged_we_keep_exactly_the_multi_arch_children(
    tmp_path: Path, seed: int
) -> None:
    binary = require_binary("docker-registry")
    original = written_by_distribution(tmp_path, seed)
    theirs, ours = tmp_path / "theirs", tmp_path / "ours"
    shutil.copytree(original, theirs)
    shutil.copytree(original, ours)
    distribution_gc(binary, theirs, tmp_path, "--delete-untagged")
    registry = Registry(open_driver("filesystem", rootdirectory=str(ours)))
    collect_garbage(registry, grace_period=0, delete_untagged=True)
    kept_by_us, kept_by_them = blob_files(ours), blob_files(theirs)
    assert kept_by_them <= kept_by_us
    # Everything we keep beyond distribution is reachable from a tagged manifest, and every
    # tagged image is whole here.
    needed: set[str] = set()
    for name in registry.catalog():
        repo = registry.repository(name)
        stack = [repo.tags.get(tag) for tag in repo.tags.list()]
        while stack:
            digest = stack.pop()
            needed.add(digest.hex)
            manifest = repo.manifests.get(digest)
            needed.update(d.digest.hex for d in manifest.parsed.blobs)
            stack.extend(d.digest for d in manifest.parsed.manifests)
    assert needed <= kept_by_us
    assert kept_by_us - kept_by_them <= needed
    # distribution 2.8.2 really does break these histories (so the test shows the fix).
    assert not needed <= kept_by_them
