"""The session store: Django's database sessions, read with one statement built once per process.

Every signed-in page reads its session first; compiling the ORM's query for it cost more than
running it. Writing, expiry and everything else is Django's `db` backend unchanged.
"""

import logging

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.core.exceptions import SuspiciousOperation
from django.utils import timezone

from governance_app.kernel.fastpath import first_row


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self):
        try:
            found = first_row(self.model, session_key=self.session_key, expire_date__gt=timezone.now())
        except SuspiciousOperation as error:  # as Django's own store: logged, and no session
            logging.getLogger(f"django.security.{error.__class__.__name__}").warning(str(error))
            found = None
        if found is None:
            self._session_key = None
        return found
