"""The migrate command: JSON reports, dry runs, exit statuses, one-line errors, and a
migration killed midway (SIGKILL) then resumed to a complete, verified store."""

from __future__ import annotations

import json
import os
import pty
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

from migrate_support import check_consistent, fill, tree, without_uploads
from support.manifests import push_blob

from distribution_storage import open_driver
from distribution_storage.driver import StorageDriver
from distribution_storage.inventory import scan_blobs
from distribution_storage.layout import blob_data_path
from distribution_storage.registry import Registry

COMMAND = [sys.executable, "-m", "distribution_storage.cli"]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COMMAND, *args], capture_output=True, text=True, timeout=120)


def config(tmp_path: Path, name: str, middleware: str = "") -> tuple[Path, StorageDriver]:
    root = tmp_path / name
    path = tmp_path / f"{name}.yml"
    path.write_text(
        f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {root}\n{middleware}"
    )
    return path, open_driver("filesystem", rootdirectory=str(root))


def test_json_report_dry_run_and_second_run(tmp_path: Path) -> None:
    (source_yml, source), (target_yml, target) = config(tmp_path, "a"), config(tmp_path, "b")
    fill(source)
    dry = run_cli("migrate", str(source_yml), str(target_yml), "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    planned = json.loads(dry.stdout)
    assert tree(target) == {}
    done = run_cli("migrate", str(source_yml), str(target_yml), "--json", "--workers", "3")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["copied"] == planned["copied"] > 0
    assert report["bytes"] == planned["bytes"]
    assert (report["failed"], report["skipped"]) == (0, 0)
    assert report["seconds"] >= 0
    assert tree(target) == without_uploads(tree(source))
    again = run_cli("migrate", str(source_yml), str(target_yml))
    assert again.returncode == 0
    assert again.stdout.startswith("copied 0 objects (0 bytes), skipped ")
    uploads = run_cli("migrate", str(source_yml), str(target_yml), "--include-uploads", "--json")
    assert json.loads(uploads.stdout)["copied_by_kind"] == {"upload": 2}
    assert tree(target) == tree(source)


def test_a_corrupt_blob_fails_the_command_with_one_line(tmp_path: Path) -> None:
    (source_yml, source), (target_yml, _) = config(tmp_path, "a"), config(tmp_path, "b")
    digest = fill(source)[-1]
    source.put_content(blob_data_path(digest), b"garbage")
    result = run_cli("migrate", str(source_yml), str(target_yml))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert any(line.startswith(f"failed: blob {digest}: ") for line in lines)
    assert "Traceback" not in result.stderr


def test_bad_input_is_one_line_and_nonzero(tmp_path: Path) -> None:
    (source_yml, source), (target_yml, _) = config(tmp_path, "a"), config(tmp_path, "b")
    fill(source)
    no_storage = tmp_path / "no-storage.yml"
    no_storage.write_text("version: 0.1\nhttp:\n  addr: :5000\n")
    for args, expected in [
        ((str(source_yml), str(no_storage)), "exactly one storage driver"),
        ((str(source_yml), str(source_yml)), "same filesystem store"),
        ((str(tmp_path / "missing.yml"), str(target_yml)), "missing.yml"),
        ((str(target_yml), str(source_yml)), "no registry data"),
        ((str(source_yml), str(target_yml), "--workers", "0"), "--workers"),
    ]:
        result = run_cli("migrate", *args)
        assert result.returncode == 1, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert expected in result.stderr
    assert tree(open_driver("filesystem", rootdirectory=str(tmp_path / "b"))) == {}


def test_killed_midway_then_resumed(tmp_path: Path) -> None:
    (source_yml, source) = config(tmp_path, "a")
    # The target stops answering after 40 blob writes. Once both workers report a stalled
    # write, the first 40 are done and nothing more can land: the kill comes at that moment,
    # however slowly the test gets to it.
    hangs = (
        "middleware:\n  storage:\n    - name: faults\n      options:\n"
        "        stallafter: 40\n        verbs: write\n"
    )
    slow_yml, target = config(tmp_path, "b", hangs)
    fill(source)
    extra = Registry(source).repository("many/blobs")
    for number in range(80):
        push_blob(extra, os.urandom(1000 + number))
    total = len(scan_blobs(source))
    process = subprocess.Popen(
        [*COMMAND, "migrate", str(source_yml), str(slow_yml), "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    await_stalls(process, 2)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    copied = check_consistent(target)
    assert 15 <= copied < total  # killed midway, and what is there is whole and verified
    _, fast_target = config(tmp_path, "b")
    result = run_cli("migrate", str(source_yml), str(tmp_path / "b.yml"), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["skipped_by_kind"]["blob"] >= copied - 1
    assert report["copied_by_kind"]["blob"] == total - report["skipped_by_kind"]["blob"]
    assert tree(fast_target) == without_uploads(tree(source))  # staging swept too


def test_progress_is_drawn_on_a_terminal(tmp_path: Path) -> None:
    (source_yml, source), (target_yml, _) = config(tmp_path, "a"), config(tmp_path, "b")
    fill(source, big=2**20)
    controller, terminal = pty.openpty()
    try:
        result = subprocess.run(
            [*COMMAND, "migrate", str(source_yml), str(target_yml)],
            stdout=subprocess.PIPE,
            stderr=terminal,
            timeout=120,
        )
        os.close(terminal)
        terminal = -1
        drawn = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal side is closed: everything was read
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(controller)
        if terminal >= 0:
            os.close(terminal)
    assert result.returncode == 0
    assert b"copying blobs" in drawn and b"/s)" in drawn
    assert result.stdout.startswith(b"copied ")


def test_ctrl_c_stops_the_copy_and_leaves_a_consistent_store(tmp_path: Path) -> None:
    source_yml, source = config(tmp_path, "a")
    # After ten blob writes every write stalls for 3 s: the 40 left would take a minute,
    # so an interrupt at the first stall finds the copy under way, whatever the load.
    slow = (
        "middleware:\n  storage:\n    - name: faults\n      options:\n"
        "        stallafter: 10\n        stall: 3s\n        verbs: write\n"
    )
    slow_yml, target = config(tmp_path, "b", slow)
    fill(source)
    extra = Registry(source).repository("many/blobs")
    for number in range(40):
        push_blob(extra, os.urandom(1000 + number))
    process = subprocess.Popen(
        [*COMMAND, "migrate", str(source_yml), str(slow_yml), "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    reported = await_stalls(process, 1)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)  # a guard against a hang
    stderr = reported + stderr
    assert process.returncode == 130
    assert b"interrupted" in stderr and b"Traceback" not in stderr
    assert 10 <= check_consistent(target) < len(scan_blobs(source))


def await_stalls(process: subprocess.Popen[bytes], count: int) -> bytes:
    """Read the process's stderr until the faults middleware has reported ``count`` stalled
    calls; return what was read."""
    assert process.stderr is not None
    seen = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stderr, selectors.EVENT_READ)
        deadline = time.monotonic() + 300  # a guard against a hang, never the outcome
        while seen.count(b" stalls for ") < count:
            assert process.poll() is None, f"the migration ended first: {seen!r}"
            assert time.monotonic() < deadline, f"no stall was reported: {seen!r}"
            if selector.select(timeout=1):
                seen += os.read(process.stderr.fileno(), 65536)
    return seen
