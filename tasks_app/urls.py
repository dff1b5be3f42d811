from django.urls import path

from tasks_app import views

app_name = "tasks"
urlpatterns = [
    path("requests/<uuid:request_id>/tasks/", views.task_create, name="create"),
    path("tasks/<uuid:task_id>/moves/<slug:move>/", views.task_move, name="move"),
    path("tasks/<uuid:task_id>/artifacts/", views.artifact_save, name="artifact"),
]
