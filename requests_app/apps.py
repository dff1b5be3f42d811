from django.apps import AppConfig


class RequestsAppConfig(AppConfig):
    name = "requests_app"
    verbose_name = "Brain Requests"
    default_auto_field = "django.db.models.BigAutoField"
