from django.http import HttpRequest

from governance_app.kernel.actors import TenantInactive, actor_for_request
from governance_app.models import Brain
from requests_app.saved_views import saved_views_for_nav


def mwms(request: HttpRequest) -> dict:
    """The actor and the workspace links every page's header shows."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    try:
        actor = actor_for_request(request)
    except TenantInactive:  # the 403 page that says so has no actor to show
        return {}
    # Saved views (issue 14): a lazy queryset, so only a page that renders the nav pays its one query.
    return {"actor": actor, "nav_workspaces": sorted(b for b in actor.brains if b != Brain.HEADOFFICE),
            "nav_saved_views": saved_views_for_nav(actor)}
