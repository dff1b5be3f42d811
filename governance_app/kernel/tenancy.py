"""Tenants: finding one by slug, the one tenant a person belongs to, and adding a person to a Brain
of it. Creating a whole tenant (its nine Brains and its first reviewer) is
`governance_app.services.tenant_create`.

A person belongs to exactly one tenant (mwms_tenant_users). Their memberships are all of Brains
of that tenant, which the database checks too (a composite key from mwms_memberships), and
HeadOffice is granted only by a membership of the tenant's own `headoffice` Brain.
"""

import uuid

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import connection, transaction

from governance_app.kernel import claims
from governance_app.kernel.db import DEFAULT_TENANT_ID
from governance_app.kernel.errors import DomainError
from governance_app.kernel.fastpath import first_row
from governance_app.models import Brain, Membership, MembershipRole, Tenant, TenantUser

DEFAULT_TENANT_SLUG = "mwms"


def tenant_for_slug(slug: str) -> Tenant:
    """The tenant with this slug; a DomainError naming the known ones when there is none.

    Commands name their tenant before any claim is set, so on PostgreSQL the owner's SECURITY
    DEFINER lookup finds its id (row-level security hides every tenant until then), and the row is
    read acting for it."""
    slug = (slug or "").strip()
    tenant_id = _definer("mwms_tenant_for_slug", slug) if connection.vendor == "postgresql" else \
        Tenant.objects.filter(slug=slug).values_list("id", flat=True).first()
    if tenant_id is None:
        raise DomainError(f"Unknown tenant {slug!r}: say which with its slug (e.g. --tenant {DEFAULT_TENANT_SLUG}).",
                          field="tenant")
    with claims.tenant_claim(tenant_id):
        return Tenant.objects.get(pk=tenant_id)


def tenant_exists(slug: str) -> bool:
    """Whether a tenant has this slug, whatever tenant the caller acts for."""
    if connection.vendor == "postgresql":
        return _definer("mwms_tenant_for_slug", slug) is not None
    return Tenant.objects.filter(slug=slug).exists()


def user_tenant_id(user) -> uuid.UUID | None:
    """The tenant a person belongs to, or None for one who belongs to none yet (on PostgreSQL
    through the owner's SECURITY DEFINER lookup: it is asked before any claim is set)."""
    if not getattr(user, "pk", None):
        return None
    if connection.vendor == "postgresql":
        return _definer("mwms_user_tenant", user.pk)
    return TenantUser.objects.filter(user=user).values_list("tenant_id", flat=True).first()


def belongs_elsewhere(user, tenant_id: uuid.UUID) -> bool:
    """Whether `user` is already a person of another tenant than this one (whose row the caller,
    acting for this tenant, cannot see on PostgreSQL: hence `user_tenant_id`)."""
    return user_tenant_id(user) not in (None, tenant_id)


ELSEWHERE = "{user} belongs to another tenant; a person belongs to exactly one."


def _definer(function: str, argument):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT public.{function}(%s)", [argument])
        value = cursor.fetchone()[0]
    return value if value is None or isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def tenant_user_link(*, user, tenant_id: uuid.UUID) -> TenantUser:
    """Make `user` a person of this tenant; refused when they already belong to another."""
    if belongs_elsewhere(user, tenant_id):
        raise DomainError(ELSEWHERE.format(user=user.get_username()), field="user")
    link, _created = TenantUser.objects.get_or_create(user=user, defaults={"tenant_id": tenant_id})
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
        tenant_id = user_tenant_id(user) if user is not None else None
        if tenant_id is not None:
            with claims.tenant_claim(tenant_id):
                if not Tenant.objects.filter(pk=tenant_id, is_active=True).exists():
                    return None
        return user

    def get_user(self, user_id):
        """The signed-in person of a session, as ModelBackend finds them, with a statement built
        once per process (every page asks)."""
        user = first_row(get_user_model(), pk=user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


__all__ = ["ELSEWHERE", "ActiveTenantBackend", "belongs_elsewhere", "tenant_exists", "DEFAULT_TENANT_ID",
           "DEFAULT_TENANT_SLUG", "member_add", "tenant_for_slug", "tenant_user_link", "user_tenant_id"]
