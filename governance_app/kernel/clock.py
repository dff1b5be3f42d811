"""The time the services stamp on what they write, replaceable for a replayed history.

Live requests read the real clock. `seed_demo` tells its story on the dates the story gives by
running the same services under `clock_set`, so every seeded record is one a user could have made,
only earlier. The replacement lives in a context variable: it ends with its `with` block and never
leaks into another thread or request.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from django.utils import timezone

_source: ContextVar[Callable[[], datetime] | None] = ContextVar("mwms_clock", default=None)


def now() -> datetime:
    """The current time: the real clock, or the one `clock_set` put in place."""
    source = _source.get()
    return timezone.now() if source is None else source()


@contextmanager
def clock_set(source: Callable[[], datetime]) -> Iterator[None]:
    """Within the block, `now()` answers `source()`."""
    token = _source.set(source)
    try:
        yield
    finally:
        _source.reset(token)
