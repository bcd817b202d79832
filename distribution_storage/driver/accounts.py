"""Whether two drivers of one service reach the same account, for server-side copies.

A driver's ``copy_from`` (see :class:`distribution_storage.migrate.CopiesFrom`) copies inside
the service only when the source driver talks to the same endpoint with the same
credentials; otherwise the service could not authorise the copy, or the objects live
elsewhere. Each driver names the settings that make up its account, and
:func:`same_account` compares them.
"""

from __future__ import annotations

from collections.abc import Iterable


def same_account(mine: object, theirs: object, fields: Iterable[str]) -> bool:
    """Whether the settings ``mine`` and ``theirs`` agree on every attribute in ``fields``
    (an endpoint, a region, credentials: what reaching the same account takes)."""
    return all(getattr(mine, field) == getattr(theirs, field) for field in fields)
