"""Tenants: finding one by slug, the one tenant a person belongs to, and adding a person to a Brain
of it. Creating a whole tenant (its nine Brains and its first reviewer) is
`governance_app.services.tenant_create`.

A person belongs to exactly one tenant (mwms_tenant_users). Their memberships are all of Brains
of that tenant, which the database checks too (a composite key from mwms_memberships), and
HeadOffice is granted only by a membership of the tenant's own `headoffice` Brain.
"""

import uuid

from django.contrib.auth.backends import ModelBackend
from django.db import transaction

from governance_app.kernel.db import DEFAULT_TENANT_ID
from governance_app.kernel.errors import DomainError
from governance_app.models import Brain, Membership, MembershipRole, Tenant, TenantUser

DEFAULT_TENANT_SLUG = "mwms"


def tenant_for_slug(slug: str) -> Tenant:
    """The tenant with this slug; a DomainError naming the known ones when there is none."""
    found = Tenant.objects.filter(slug=(slug or "").strip()).first()
    if found is None:
        known = ", ".join(Tenant.objects.order_by("slug").values_list("slug", flat=True)) or "none yet"
        raise DomainError(f"Unknown tenant {slug!r}: choose one of {known}.", field="tenant")
    return found


def user_tenant_id(user) -> uuid.UUID | None:
    """The tenant a person belongs to, or None for one who belongs to none yet."""
    if not getattr(user, "pk", None):
        return None
    return TenantUser.objects.filter(user=user).values_list("tenant_id", flat=True).first()


def belongs_elsewhere(user, tenant_id: uuid.UUID) -> bool:
    """Whether `user` is already a person of another tenant than this one."""
    return TenantUser.objects.filter(user=user).exclude(tenant_id=tenant_id).exists()


ELSEWHERE = "{user} belongs to another tenant; a person belongs to exactly one."


def tenant_user_link(*, user, tenant_id: uuid.UUID) -> TenantUser:
    """Make `user` a person of this tenant; refused when they already belong to another."""
    link, _created = TenantUser.objects.get_or_create(user=user, defaults={"tenant_id": tenant_id})
    if link.tenant_id != tenant_id:
        raise DomainError(ELSEWHERE.format(user=user.get_username()), field="user")
    return link


def member_add(*, user, brain: Brain, role: str = MembershipRole.MEMBER) -> Membership:
    """`user` becomes (or stays, with this role) a member of `brain`, a Brain of their own tenant."""
    if role not in MembershipRole.values:
        raise DomainError(f"Unknown role {role!r}: choose one of {', '.join(MembershipRole.values)}.", field="role")
    if role == MembershipRole.HEAD_OFFICE_REVIEWER and brain.slug != Brain.HEADOFFICE:
        raise DomainError(f"A HeadOffice reviewer is a member of the {Brain.HEADOFFICE} Brain, not {brain.slug}.",
                          field="role")
    with transaction.atomic():
        tenant_user_link(user=user, tenant_id=brain.tenant_id)
        membership, _created = Membership.objects.update_or_create(
            user=user, brain_id=brain.slug, defaults={"role": role, "tenant_id": brain.tenant_id})
    return membership


class ActiveTenantBackend(ModelBackend):
    """Django's sign-in, refusing a person whose tenant is inactive (a person of no tenant yet may
    sign in: they see nothing until they join a Brain). A session opened before the tenant was made
    inactive is refused on its next page by `actor_for_user` (403), which reads the tenant anyway,
    so no page pays a query for this check."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None and TenantUser.objects.filter(user=user, tenant__is_active=False).exists():
            return None
        return user


__all__ = ["ELSEWHERE", "ActiveTenantBackend", "belongs_elsewhere", "DEFAULT_TENANT_ID", "DEFAULT_TENANT_SLUG", "member_add", "tenant_for_slug", "tenant_user_link",
           "user_tenant_id"]
