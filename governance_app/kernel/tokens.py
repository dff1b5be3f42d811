"""API tokens: issuing one, and finding the token behind a bearer secret.

Only a SHA-256 of the secret is stored, with a short prefix to recognise the token in lists. The
secret is random (256 bits), so a plain hash is enough: there is nothing to brute-force.
"""

import hashlib
import secrets
import uuid
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from governance_app.kernel import limits
from governance_app.kernel.brains import active_brains
from governance_app.kernel.errors import DomainError
from governance_app.models import ApiToken, Brain, Tenant, TokenRole

SECRET_PREFIX = "mwms_"
PREFIX_LENGTH = len(SECRET_PREFIX) + 8
# last_used_at is written at most this often per token, so the hot path is one read, not a write.
TOUCH_EVERY = timedelta(minutes=1)


def token_hash(secret: str) -> str:
    """The stored form of a bearer secret."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def api_token_issue(*, tenant_id: uuid.UUID, brain: str, role: str, label: str) -> tuple[ApiToken, str]:
    """Create a token bound to one Brain of the tenant; return it with its secret, which is never stored."""
    label = (label or "").strip()
    if not label:
        raise DomainError("The label is required: say who or what will use the token.", field="label")
    if len(label) > limits.NAME or limits.unstorable_text(label):
        raise DomainError(f"The label must be text of at most {limits.NAME} characters.", field="label")
    if role not in TokenRole.values:
        raise DomainError(f"Unknown role {role!r}: choose one of {', '.join(TokenRole.values)}.", field="role")
    registry = active_brains(tenant_id)
    found = registry.get((brain or "").strip())
    if found is None:
        raise DomainError(f"Unknown Brain {brain!r} in this tenant: choose one of {', '.join(sorted(registry))}.",
                          field="brain")
    misfit = role_misfit(role=role, brain=found.slug)
    if misfit:
        raise DomainError(misfit, field="role")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(tenant_id=found.tenant_id, brain_id=found.slug, role=role, label=label,
                                        prefix=secret[:PREFIX_LENGTH], token_hash=token_hash(secret))
    return token, secret


def role_misfit(*, role: str, brain: str) -> str | None:
    """Why a token of this role cannot belong to this Brain, or None when it can.

    HeadOffice's Brain and the headoffice role go together both ways: a headoffice token belongs to
    the HeadOffice Brain, and a token of the HeadOffice Brain is a headoffice token. A `brain`,
    `executor` or `integration` token of the HeadOffice Brain would hold HeadOffice's place on every
    request it reviews (review owner, decision authority) without being HeadOffice's token.
    """
    if role == TokenRole.HEADOFFICE and brain != Brain.HEADOFFICE:
        return (f"A headoffice token acts for HeadOffice, so it belongs to the {Brain.HEADOFFICE} Brain, "
                f"not {brain}: use --brain {Brain.HEADOFFICE}.")
    if brain == Brain.HEADOFFICE and role != TokenRole.HEADOFFICE:
        return (f"A token of the {Brain.HEADOFFICE} Brain has the {TokenRole.HEADOFFICE} role, not {role}: "
                f"use --role {TokenRole.HEADOFFICE}, or issue the {role} token for another Brain.")
    return None


class TokenRefused(Exception):
    """A bearer secret that opens nothing: unknown, or revoked."""


def api_token_authenticate(secret: str) -> ApiToken:
    """The live token behind a bearer secret; TokenRefused says why there is none.

    This runs on every API call, so it is one plain SQL read (the ORM's query compilation costs
    more than the query) and a write of last_used_at at most once a minute per token.
    """
    if not secret or len(secret) > 200:
        raise TokenRefused("Unknown token: send Authorization: Bearer <token> with a token from issue_token.")
    now = timezone.now()
    stale = connection.ops.adapt_datetimefield_value(now - TOUCH_EVERY)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Row-level security hides every token until the tenant is known, so the owner's
            # SECURITY DEFINER lookup finds this one, and the same statement sets the claim to its
            # tenant for the rest of the call's transaction (kernel.claims).
            cursor.execute(
                "SELECT t.id, t.tenant_id, t.brain, t.role, t.label, t.revoked, "
                "(t.last_used_at IS NULL OR t.last_used_at < %s), t.tenant_active, "
                "set_config('request.jwt.claims', json_build_object('tenant_id', t.tenant_id)::text, true) "
                "FROM public.mwms_token_lookup(%s) t",
                [stale, token_hash(secret)],
            )
        else:
            cursor.execute(
                f"SELECT t.id, t.tenant_id, t.brain, t.role, t.label, t.revoked_at IS NOT NULL, "
                f"(t.last_used_at IS NULL OR t.last_used_at < %s), o.is_active, NULL "
                f"FROM {ApiToken._meta.db_table} t JOIN {Tenant._meta.db_table} o ON o.id = t.tenant_id "
                f"WHERE t.token_hash = %s",
                [stale, token_hash(secret)],
            )
        row = cursor.fetchone()
    if row is None:
        raise TokenRefused("Unknown token: send Authorization: Bearer <token> with a token from issue_token.")
    token_id, tenant_id, brain, role, label, revoked, touch, tenant_active, _claim = row
    if revoked:
        raise TokenRefused(f"This token ({label}) was revoked; ask HeadOffice for a new one.")
    if not tenant_active:
        raise TokenRefused("This token's organisation is inactive, so its tokens open nothing.")
    if role_misfit(role=role, brain=brain):  # issued before the rule: it opens nothing
        raise TokenRefused(f"This token ({label}) is a {role} token of the {brain} Brain, which only "
                           f"{TokenRole.HEADOFFICE} tokens may be; ask HeadOffice for a new one.")
    if brain not in active_brains(_uuid(tenant_id)):
        raise TokenRefused(f"This token's Brain ({brain}) is no longer active, so its tokens open nothing.")
    token = ApiToken(id=_uuid(token_id), tenant_id=_uuid(tenant_id), brain_id=brain, role=role, label=label)
    if touch:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
