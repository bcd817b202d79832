"""The pytest plugin of the conformance suite, registered through the ``pytest11`` entry point.

pytest loads it into every run of every project that installs ``distribution-storage``, so it
stands outside the ``distribution_storage`` package and imports nothing of it: loading it costs
the few names below, and the suite itself is imported only when a conformance class is used.

It adds the command-line option ``--conformance-quick``, which runs every conformance case
at its quick-mode sizes (as do ``SuiteOptions(quick=True)`` and the environment variable
``DISTRIBUTION_STORAGE_CONFORMANCE_QUICK=1``), and reports the mode in pytest's header. The
suite reads the option through :func:`quick_requested`, which also works when the plugin is
not loaded (with ``PYTEST_DISABLE_PLUGIN_AUTOLOAD``, for instance). Loading it also asks
pytest to rewrite the assertions of the case modules, so a failing case reports the values
it compared.
"""

from __future__ import annotations

import os
import sys

import pytest

QUICK_ENV = "DISTRIBUTION_STORAGE_CONFORMANCE_QUICK"
"""Environment variable that turns quick mode on when set to 1, true or yes."""

OPTION = "--conformance-quick"
_DEST = "conformance_quick"

CASE_MODULES = tuple(
    f"distribution_storage.conformance.{name}"
    for name in (
        "capabilities",
        "concurrency",
        "content",
        "helpers",
        "listing",
        "model",
        "removal",
        "streams",
        "suite",
        "walking",
        "writers",
    )
)
"""The modules holding assertions, which pytest rewrites for detailed failure reports."""


def mark_cases_for_rewrite() -> None:
    """Ask pytest to rewrite the assertions of the case modules not imported yet."""
    pending = [name for name in CASE_MODULES if name not in sys.modules]
    if pending:
        pytest.register_assert_rewrite(*pending)


mark_cases_for_rewrite()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--conformance-quick`` to pytest's command line."""
    group = parser.getgroup("distribution-storage", "distribution-storage driver conformance")
    group.addoption(
        OPTION,
        action="store_true",
        default=False,
        dest=_DEST,
        help=f"run the driver conformance cases at quick-mode sizes (or set {QUICK_ENV}=1)",
    )


def quick_from_env() -> bool:
    """Tell whether the environment asks for quick mode."""
    return os.environ.get(QUICK_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def quick_requested(config: pytest.Config) -> bool:
    """Tell whether the command line or the environment asks for quick mode."""
    return bool(config.getoption(_DEST, default=False)) or quick_from_env()


def pytest_report_header(config: pytest.Config) -> str | None:
    """Say in the header when quick mode was asked for on the command line or environment."""
    if quick_requested(config):
        return "distribution-storage conformance: quick mode"
    return None
