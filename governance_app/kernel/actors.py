"""Who is acting: a signed-in person or an API token, reduced to what the rules need to know."""

from dataclasses import dataclass, field
from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.db import connections, router

from governance_app.kernel.db import DEFAULT_TENANT_ID
from governance_app.models import Brain, Membership, Tenant, TenantUser, TokenRole


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
    memberships = _memberships_of(user.pk)
    if memberships:
        _brain, tenant_id, tenant_active, tenant_name = memberships[0]
    else:
        link = TenantUser.objects.filter(user=user).select_related("tenant").first()
        tenant_id, tenant_active, tenant_name = (link.tenant_id, link.tenant.is_active, link.tenant.name) if link \
            else (None, True, "")
    if not tenant_active:
        raise TenantInactive(f"{tenant_name} is inactive, so its people cannot sign in or act.")
    brains = frozenset(brain for brain, *_tenant in memberships)
    return Actor(tenant_id=tenant_id, label=user.get_username(), brains=brains,
                 is_head_office=Brain.HEADOFFICE in brains, user_id=user.pk)


_statements: dict[str, str] = {}


def _memberships_of(user_id: int) -> list[tuple[str, UUID, bool, str]]:
    """(Brain, tenant id, tenant active, tenant name) of each of the person's memberships, by
    Brain: `Membership.objects.filter(user=…).select_related("tenant")` with its statement built
    once per process (every page asks, and compiling the join cost more than running it)."""
    connection = connections[router.db_for_read(Membership)]
    sql = _statements.get(connection.alias)
    if sql is None:
        quote = connection.ops.quote_name
        membership, tenant = Membership._meta, Tenant._meta
        m = {name: quote(membership.get_field(name).column) for name in ("brain_id", "tenant", "user")}
        t = {name: quote(tenant.get_field(name).column) for name in ("id", "is_active", "name")}
        sql = _statements[connection.alias] = (
            f"SELECT m.{m['brain_id']}, t.{t['id']}, t.{t['is_active']}, t.{t['name']} "
            f"FROM {quote(membership.db_table)} m JOIN {quote(tenant.db_table)} t ON t.{t['id']} = m.{m['tenant']} "
            f"WHERE m.{m['user']} = %s ORDER BY m.{m['brain_id']}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id])
        rows = cursor.fetchall()
    as_uuid = Tenant._meta.pk.to_python
    return [(brain, as_uuid(tenant_id), bool(active), name) for brain, tenant_id, active, name in rows]


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
