from django.apps import AppConfig


class GovernanceAppConfig(AppConfig):
    name = "governance_app"
    verbose_name = "Governance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from governance_app import brains  # noqa: F401  (connects the registry's signal receivers)
