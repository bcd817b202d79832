"""Go-style durations (``168h``, ``1h30m``, ``500ms``) as distribution's config and flags use.

Upload purging ages, GC grace periods and the fault middleware's latency are all written this
way; :func:`parse_duration` turns one into seconds and names the setting in its error.
"""

from __future__ import annotations

import re

from distribution_storage.driver.errors import ConfigurationError

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str | int | float, *, key: str = "duration") -> float:
    """Seconds in a Go-style duration (``168h``, ``1h30m``, ``500ms``, ``0``)."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    value = str(text).strip()
    if value in ("0", ""):
        return 0.0
    position, total = 0, 0.0
    while position < len(value):
        match = _DURATION_PART.match(value, position)
        if not match:
            raise ConfigurationError(
                f"{text!r} is not a duration (examples: 168h, 30m, 1h30m, 0)", key=key
            )
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    return total
