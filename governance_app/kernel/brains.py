"""The Brain registry as the hot paths read it: a tenant's active Brains by slug, kept by each
process for a few seconds.

Every request creation, routing and escalation names Brains. The registry is a handful of rows
that change only when an administrator edits one, yet reading it on every call cost about a tenth
of an API call's CPU. So each process keeps a tenant's active Brains for `KEEP_SECONDS`:

- a Brain saved or deleted in this process clears the copy at once, and again when its
  transaction commits (a copy read in between is dropped too);
- another process sees the change within `KEEP_SECONDS`, and so does this one when a Brain change
  is rolled back after the registry was read in the same transaction.

The Brains handed out are shared: read them, never change and save them.
"""

import threading
import time
import uuid

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from governance_app.models import Brain

KEEP_SECONDS = 5.0
_clock = time.monotonic  # the tests move their own clock

_kept: dict[uuid.UUID, tuple[float, dict[str, Brain]]] = {}
_lock = threading.Lock()


def active_brains(tenant_id: uuid.UUID) -> dict[str, Brain]:
    """The tenant's active Brains by slug (at most KEEP_SECONDS old)."""
    now = _clock()
    kept = _kept.get(tenant_id)
    if kept is not None and now - kept[0] < KEEP_SECONDS:
        return kept[1]
    brains = {brain.slug: brain for brain in Brain.objects.filter(tenant_id=tenant_id, is_active=True)}
    with _lock:
        _kept[tenant_id] = (now, brains)
    return brains


def forget_brains() -> None:
    """Drop every kept copy: the next read goes to the database."""
    with _lock:
        _kept.clear()


@receiver(post_save, sender=Brain, dispatch_uid="mwms_brain_registry_saved")
@receiver(post_delete, sender=Brain, dispatch_uid="mwms_brain_registry_deleted")
def _brain_changed(**kwargs) -> None:
    forget_brains()
    transaction.on_commit(forget_brains, using=kwargs.get("using"))


def brain_options(*, tenant_id: uuid.UUID) -> list[tuple[str, str]]:
    """(slug, name) of the tenant's active Brains by name, for every Brain select: from the registry
    above, so a page that draws Brain selects reads no row for them (a query on every request list
    before, issue 16). By name as Python orders text: by code point, as the C collation does."""
    return sorted(((brain.slug, brain.name) for brain in active_brains(tenant_id).values()),
                  key=lambda option: (option[1], option[0]))
