from django.apps import AppConfig


class GovernanceAppConfig(AppConfig):
    name = "governance_app"
    verbose_name = "Governance"
    default_auto_field = "django.db.models.BigAutoField"
