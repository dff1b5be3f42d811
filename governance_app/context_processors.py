from django.http import HttpRequest

from governance_app.kernel.actors import TenantInactive, actor_for_request
from governance_app.models import Brain


def mwms(request: HttpRequest) -> dict:
    """The actor and the workspace links every page's header shows."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    try:
        actor = actor_for_request(request)
    except TenantInactive:  # the 403 page that says so has no actor to show
        return {}
    # The nav's saved views are fetched when it is opened (requests:saved_views_nav).
    return {"actor": actor, "nav_workspaces": sorted(b for b in actor.brains if b != Brain.HEADOFFICE)}
