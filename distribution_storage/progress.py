"""Progress reporting for long operations (gc, migrate, fsck, conformance).

A long operation takes an optional ``progress`` callback and calls it with a
:class:`ProgressUpdate` now and then; it never prints. The CLI passes a
:class:`TerminalProgress`, which draws one self-overwriting line on a terminal and stays
silent otherwise, so logs and ``--json`` output are never interleaved with bars.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO


@dataclass(frozen=True, slots=True)
class ProgressUpdate:
    """Where a long operation stands: ``done`` of ``total`` items (None when unknown)."""

    phase: str
    done: int
    total: int | None = None
    bytes_done: int = 0
    detail: str = ""


Progress = Callable[[ProgressUpdate], None]
"""The callback type long operations accept."""


def no_progress(update: ProgressUpdate) -> None:
    """A progress callback that ignores every update."""


def format_bytes(count: float) -> str:
    """``count`` bytes in binary units (``1.5 GiB``)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(count) < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


class TerminalProgress:
    """Draws updates as one line on ``stream`` when it is a terminal; a no-op otherwise."""

    def __init__(self, stream: TextIO | None = None, *, interval: float = 0.1) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty()
        self.interval = interval
        self._last = 0.0
        self._started = time.monotonic()
        self._drawn = False

    def __call__(self, update: ProgressUpdate) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        finished = update.total is not None and update.done >= update.total
        if now - self._last < self.interval and not finished:
            return
        self._last = now
        self.stream.write("\r\x1b[2K" + self.render(update, now - self._started))
        self.stream.flush()
        self._drawn = True

    @staticmethod
    def render(update: ProgressUpdate, elapsed: float) -> str:
        """The text of one progress line."""
        parts = [update.phase]
        if update.total:
            fraction = min(update.done / update.total, 1.0)
            filled = int(fraction * 24)
            parts.append(f"[{'#' * filled}{'.' * (24 - filled)}] {update.done}/{update.total}")
        else:
            parts.append(str(update.done))
        if update.bytes_done:
            rate = update.bytes_done / elapsed if elapsed > 0 else 0.0
            parts.append(f"{format_bytes(update.bytes_done)} ({format_bytes(rate)}/s)")
        if update.detail:
            parts.append(update.detail)
        return "  ".join(parts)

    def finish(self) -> None:
        """End the progress line so later output starts on a clean line."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
