from django.apps import AppConfig


class GovernanceAppConfig(AppConfig):
    name = "governance_app"
    verbose_name = "Governance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.apps import apps

        from governance_app import brains  # noqa: F401  (connects the registry's signal receivers)
        from governance_app.db import read_back_only_database_choices

        for label in ("governance_app", "requests_app", "tasks_app"):
            for model in apps.get_app_config(label).get_models():
                read_back_only_database_choices(model)
