from django.urls import path

from requests_app import views

app_name = "requests"
urlpatterns = [
    path("requests/", views.request_list, name="list"),
    path("requests/new/", views.request_create, name="create"),
    path("requests/<uuid:request_id>/", views.request_detail, name="detail"),
    path("requests/<uuid:request_id>/moves/<slug:move>/", views.request_move, name="move"),
    path("requests/<uuid:request_id>/notes/", views.request_note, name="note"),
    path("workspace/<slug:brain>/", views.workspace, name="workspace"),
]
