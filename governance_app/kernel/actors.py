"""Who is acting: a signed-in person or an API token, reduced to what the rules need to know."""

from dataclasses import dataclass, field
from uuid import UUID

from governance_app.kernel.db import DEFAULT_TENANT_ID
from governance_app.models import Brain, Membership, MembershipRole, TokenRole


@dataclass(frozen=True)
class Actor:
    tenant_id: UUID
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


def actor_for_user(user) -> Actor:
    """The actor a signed-in person is: their Brains, and whether they review for HeadOffice."""
    memberships = list(Membership.objects.filter(user=user).select_related("brain"))
    tenant_id = memberships[0].tenant_id if memberships else DEFAULT_TENANT_ID
    head_office = any(
        m.role == MembershipRole.HEAD_OFFICE_REVIEWER or m.brain_id == Brain.HEADOFFICE for m in memberships
    )
    return Actor(
        tenant_id=tenant_id,
        label=user.get_username(),
        brains=frozenset(m.brain_id for m in memberships),
        is_head_office=head_office,
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
