from django.urls import path

from governance_app import canon_views, lesson_views, search_views, views

app_name = "governance"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("dashboard/", views.dashboard, {"landing": False}, name="overview"),
    path("escalations/", views.escalations, name="escalations"),
    path("escalations/<uuid:request_id>/resolve/", views.escalation_resolve, name="escalation_resolve"),
    path("feedback/", views.feedback, name="feedback"),
    path("feedback/<uuid:request_id>/classify/", views.classify, name="classify"),
    path("feedback/<uuid:request_id>/mcr-decision/", views.mcr_decide, name="mcr_decide"),
    path("feedback/<uuid:request_id>/mcr/", views.mcr_review, name="mcr_review"),
    path("feedback/<uuid:request_id>/mcr/proposal/", views.proposal_amend, name="proposal_amend"),
    path("decisions/", views.decisions, name="decisions"),
    path("requests/<uuid:request_id>/decisions/", views.decision_create, name="decision_create"),
    path("lessons/", views.lessons, name="lessons"),
    path("lessons/groups/", lesson_views.lesson_groups_page, name="lesson_groups"),
    path("lessons/groups/propose/", lesson_views.lessons_propose, name="lessons_propose"),
    path("canon/", canon_views.canon_list, name="canon"),
    path("canon/<slug:slug>/", canon_views.canon_document, name="canon_document"),
    path("canon/<slug:slug>/versions/<str:version>/", canon_views.canon_version, name="canon_version"),
    path("canon/<slug:slug>/amendments/<uuid:amendment_id>/rollback/", canon_views.canon_rollback,
         name="canon_rollback"),
    path("requests/<uuid:request_id>/lessons/", views.lesson_create, name="lesson_create"),
    path("search/", search_views.search, name="search"),
    path("search/evidence/", search_views.evidence_search, name="evidence_search"),
    path("webhooks/", views.webhooks_page, name="webhooks"),
    path("webhooks/subscribe/", views.webhook_subscribe, name="webhook_subscribe"),
    path("webhooks/<uuid:subscription_id>/switch/", views.webhook_switch, name="webhook_switch"),
    path("webhooks/deliveries/<uuid:delivery_id>/resend/", views.webhook_resend, name="webhook_resend"),
]
