from django.urls import path

from requests_app import bulk_views, notification_views, saved_view_views, sla_views, views

app_name = "requests"
urlpatterns = [
    path("requests/", views.request_list, name="list"),
    path("requests/new/", views.request_create, name="create"),
    path("requests/bulk/", bulk_views.request_bulk, name="bulk"),
    path("requests/views/", saved_view_views.saved_view_list, name="saved_views"),
    path("requests/views/nav/", saved_view_views.saved_views_nav, name="saved_views_nav"),
    path("requests/views/save/", saved_view_views.saved_view_save, name="saved_view_save"),
    path("requests/views/<uuid:view_id>/", saved_view_views.saved_view_open, name="saved_view_open"),
    path("requests/views/<uuid:view_id>/rename/", saved_view_views.saved_view_rename, name="saved_view_rename"),
    path("requests/views/<uuid:view_id>/update/", saved_view_views.saved_view_update, name="saved_view_update"),
    path("requests/views/<uuid:view_id>/delete/", saved_view_views.saved_view_delete, name="saved_view_delete"),
    path("requests/columns/", saved_view_views.list_columns, name="list_columns"),
    path("requests/<uuid:request_id>/", views.request_detail, name="detail"),
    path("requests/<uuid:request_id>/integrity/", views.request_integrity, name="integrity"),
    path("requests/<uuid:request_id>/moves/<slug:move>/", views.request_move, name="move"),
    path("requests/<uuid:request_id>/notes/", views.request_note, name="note"),
    path("requests/<uuid:request_id>/assignee/", views.request_assign, name="assign"),
    path("workspace/<slug:brain>/", views.workspace, name="workspace"),
    path("sla/", sla_views.sla_policy, name="sla_policy"),
    path("requests/<uuid:request_id>/watch/", notification_views.watch, name="watch"),
    path("notifications/", notification_views.inbox, name="notifications"),
    path("notifications/unread/", notification_views.unread_badge, name="unread_badge"),
    path("notifications/read/", notification_views.notifications_read, name="notifications_read"),
    path("notifications/email/", notification_views.email_mode, name="email_mode"),
    path("notifications/<uuid:notification_id>/", notification_views.notification_open, name="notification_open"),
]
