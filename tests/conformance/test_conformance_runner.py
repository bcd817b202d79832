"""The runner, the quick mode and the options of the conformance suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from distribution_storage.conformance import SuiteOptions, run_conformance
from distribution_storage.conformance.base import skip_reason_capability
from distribution_storage.conformance.options import MiB
from distribution_storage.driver import Capability
from distribution_storage.drivers.inmemory import InMemoryDriver
from distribution_storage_pytest import QUICK_ENV

SIZE_PROBE = """
import pytest
from distribution_storage.conformance import DriverConformance, SuiteOptions
from distribution_storage.drivers.inmemory import InMemoryDriver


class TestProbe(DriverConformance):
    options = SuiteOptions(large_size=300 * 2**20)

    @pytest.fixture
    def driver_factory(self):
        shared = InMemoryDriver()
        return lambda: shared

    def test_sizes(self, suite):
        assert suite.quick == {expect_quick}
        assert (suite.large_size == 300 * 2**20) == (not suite.quick)
"""


def test_run_conformance_end_to_end_quick(capsys: pytest.CaptureFixture[str]) -> None:
    """The whole suite through the runner on inmemory exits 0 and names skipped capabilities."""
    shared = InMemoryDriver()
    assert run_conformance(lambda: shared, quick=True, extra_pytest_args=["-q"]) == 0
    out = capsys.readouterr().out
    assert "passed" in out
    assert "failed" not in out
    assert "driver declares no Capability.PENDING_UPLOADS: 1 case skipped" in out
    assert shared.list("/") == [], "the suite left something behind"


def test_run_conformance_reports_failures() -> None:
    """A driver factory that returns no driver fails every case: a non-zero exit code."""
    code = run_conformance(
        lambda: "not a driver",  # type: ignore[arg-type,return-value]
        quick=True,
        extra_pytest_args=["-q", "-k", "test_delete"],
    )
    assert code == pytest.ExitCode.TESTS_FAILED


def test_quick_mode_shrinks_sizes() -> None:
    """Quick sizes are small but keep several chunks plus a short tail."""
    full = SuiteOptions()
    quick = full.effective(quick=True)
    assert quick.quick
    assert full.large_size == 1024 * MiB and full.chunk_size == 10 * MiB
    assert quick.large_size < 16 * MiB
    assert quick.large_size > 3 * quick.chunk_size
    assert quick.large_size % quick.chunk_size != 0
    assert quick.many_entries > 1000
    assert quick.concurrent_file_size < full.concurrent_file_size
    assert quick.state_machine_examples < full.state_machine_examples


def test_quick_mode_from_options_and_overrides() -> None:
    """``SuiteOptions(quick=True)`` alone turns quick mode on; quick_* fields override."""
    options = SuiteOptions(quick=True, quick_chunk_size=5 * MiB, quick_large_size=17 * MiB)
    effective = options.effective()
    assert (effective.chunk_size, effective.large_size) == (5 * MiB, 17 * MiB)
    assert SuiteOptions().effective() == SuiteOptions()


def test_quick_mode_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """``DISTRIBUTION_STORAGE_CONFORMANCE_QUICK=1`` turns quick mode on."""
    monkeypatch.setenv(QUICK_ENV, "1")
    assert SuiteOptions().effective().quick
    monkeypatch.setenv(QUICK_ENV, "0")
    assert not SuiteOptions().effective().quick


def test_options_reject_nonsense() -> None:
    """A page-boundary case needs more than 1,000 entries; sizes are never negative."""
    with pytest.raises(ValueError, match="many_entries"):
        SuiteOptions(many_entries=1000)
    with pytest.raises(ValueError, match="large_size"):
        SuiteOptions(large_size=-1)


@pytest.mark.parametrize(("args", "expect_quick"), [([], False), (["--conformance-quick"], True)])
def test_plugin_option_turns_quick_mode_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], expect_quick: bool
) -> None:
    """The pytest plugin's ``--conformance-quick`` reaches the suite's options."""
    monkeypatch.delenv(QUICK_ENV, raising=False)
    module = tmp_path / f"test_probe_{str(expect_quick).lower()}.py"
    module.write_text(SIZE_PROBE.replace("{expect_quick}", str(expect_quick)))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    code = pytest.main(
        [
            str(module),
            "-q",
            "-p",
            "no:cacheprovider",
            "-k",
            "test_sizes",
            "-c",
            str(tmp_path / "pytest.ini"),
            "--rootdir",
            str(tmp_path),
            "--import-mode=importlib",
            *args,
        ]
    )
    assert code == pytest.ExitCode.OK


def test_skip_reasons_name_the_capability() -> None:
    """The runner recognises the capability in the suite's skip messages."""
    reason = f"Skipped: driver declares no Capability.{Capability.REDIRECT.name}"
    assert skip_reason_capability(reason) == "REDIRECT"
    assert skip_reason_capability("Skipped: something else") is None
