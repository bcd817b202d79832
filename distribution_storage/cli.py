"""The ``distribution-storage`` command line.

Each sub-command reads a distribution ``config.yml`` (or, where it says so, falls back to an
embedded default: a filesystem store in ``./registry-data``) and runs one tool. Errors are
one line on stderr naming the cause, with a non-zero exit status and no traceback; a
credential never appears in them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from distribution_storage import __version__
from distribution_storage.config import StorageConfig, load_config, open_storage, parse_config
from distribution_storage.driver.contract import StorageDriver
from distribution_storage.driver.errors import StorageDriverError
from distribution_storage.drivers import known_drivers

PROG = "distribution-storage"
DEFAULT_STORE = "registry-data"
EXIT_FAILURE = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """A failure the CLI reports as one line and a non-zero exit status."""


def default_config() -> StorageConfig:
    """The embedded default: a filesystem store in ``./registry-data``, created if missing."""
    root = Path(DEFAULT_STORE).resolve()
    root.mkdir(parents=True, exist_ok=True)
    return parse_config(
        f"storage:\n  filesystem:\n    rootdirectory: {root}\n", source="<embedded default>"
    )


def config_from(argument: str | None) -> StorageConfig:
    """The config at ``argument``, or the embedded default when it is None."""
    return default_config() if argument is None else load_config(argument)


def driver_factory(config: StorageConfig) -> Callable[[], StorageDriver]:
    """A function that opens a new driver for ``config`` each time it is called."""
    return lambda: open_storage(config)


def cmd_drivers(args: argparse.Namespace) -> int:
    """Print the names of the drivers that can be configured."""
    for name in known_drivers():
        print(name)
    return 0


def cmd_conformance(args: argparse.Namespace) -> int:
    """Run the driver conformance suite against the configured driver."""
    config = config_from(args.config)
    factory = driver_factory(config)
    factory().close()  # fail fast, with one clear line, on a bad config or backend
    try:
        from distribution_storage.conformance.runner import run_conformance
    except ModuleNotFoundError as exc:
        raise CommandError(
            f"the conformance suite needs {exc.name!r}: "
            "pip install 'distribution-storage[conformance]'"
        ) from None
    extra = ["-q"] if not args.verbose else ["-v"]
    if args.keyword:
        extra += ["-k", args.keyword]
    return run_conformance(factory, quick=args.quick, extra_pytest_args=extra)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Storage tools for container registries (distribution's layout).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    drivers = commands.add_parser("drivers", help="list the storage drivers that can be used")
    drivers.set_defaults(run=cmd_drivers)

    conformance = commands.add_parser(
        "conformance",
        help="validate a storage driver against the driver contract",
        description="Run the driver conformance suite against the driver CONFIG describes "
        f"(default: a filesystem store in ./{DEFAULT_STORE}). Exits 0 only if every case "
        "passes; cases for capabilities the driver declares it lacks are skipped, by name.",
    )
    conformance.add_argument("config", nargs="?", help="distribution config.yml")
    conformance.add_argument("--quick", action="store_true", help="every case, smaller sizes")
    conformance.add_argument("-k", dest="keyword", help="only cases matching this expression")
    conformance.add_argument("-v", "--verbose", action="store_true", help="one line per case")
    conformance.set_defaults(run=cmd_conformance)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``distribution-storage`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.run(args)
        return result
    except (StorageDriverError, CommandError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        print(f"{PROG}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
