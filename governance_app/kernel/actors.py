"""Who is acting: a signed-in person or an API token, reduced to what the rules need to know."""

from dataclasses import dataclass, field
from uuid import UUID

from django.core.exceptions import PermissionDenied

from governance_app.kernel.db import DEFAULT_TENANT_ID
from governance_app.models import Brain, Membership, TenantUser, TokenRole


@dataclass(frozen=True)
class Actor:
    tenant_id: UUID | None  # None: a person of no tenant yet, who sees nothing
    label: str
    brains: frozenset[str] = field(default_factory=frozenset)
    is_head_office: bool = False
    token_role: str | None = None
    user_id: int | None = None
    token_id: UUID | None = None

    @property
    def is_executor(self) -> bool:
        return self.token_role == TokenRole.EXECUTOR

    @property
    def is_integration(self) -> bool:
        return self.token_role == TokenRole.INTEGRATION

    def belongs_to(self, brain_slug: str | None) -> bool:
        return brain_slug is not None and brain_slug in self.brains

    def __str__(self) -> str:
        return self.label


SYSTEM = Actor(tenant_id=DEFAULT_TENANT_ID, label="system", is_head_office=True)


class TenantInactive(PermissionDenied):
    """The person's or token's organisation is inactive: nothing of it opens."""


def actor_for_user(user) -> Actor:
    """The actor a signed-in person is: their tenant, their Brains, and whether they review for
    HeadOffice, which only a membership of their tenant's own HeadOffice Brain grants.

    One query: the database keeps every membership in the person's one tenant (a composite key
    to mwms_tenant_users), so the first membership names it. A person with no membership yet is
    looked up in mwms_tenant_users; one of no tenant sees nothing.
    """
    memberships = list(Membership.objects.filter(user=user).select_related("tenant"))
    if memberships:
        tenant = memberships[0].tenant
    else:
        link = TenantUser.objects.filter(user=user).select_related("tenant").first()
        tenant = link.tenant if link else None
    if tenant is not None and not tenant.is_active:
        raise TenantInactive(f"{tenant.name} is inactive, so its people cannot sign in or act.")
    return Actor(
        tenant_id=tenant.id if tenant else None,
        label=user.get_username(),
        brains=frozenset(m.brain_id for m in memberships),
        is_head_office=any(m.brain_id == Brain.HEADOFFICE for m in memberships),
        user_id=user.pk,
    )


def actor_for_token(token) -> Actor:
    """The actor an API token is: bound to one Brain, with the token's role."""
    return Actor(
        tenant_id=token.tenant_id,
        label=f"token:{token.label}",
        brains=frozenset({token.brain_id}),
        is_head_office=token.role == TokenRole.HEADOFFICE,
        token_role=token.role,
        token_id=token.id,
    )


def actor_for_request(http_request) -> Actor:
    """The actor behind a browser request, worked out once per request."""
    cached = getattr(http_request, "_mwms_actor", None)
    if cached is None:
        cached = actor_for_user(http_request.user)
        http_request._mwms_actor = cached
    return cached
