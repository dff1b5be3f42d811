from django.apps import AppConfig


class GovernanceAppConfig(AppConfig):
    name = "governance_app"
    verbose_name = "Governance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from governance_app.kernel import brains  # noqa: F401  (connects the registry's signal receivers)
        from governance_app.kernel.fastpath import read_back_only_database_choices

        for model in self.get_models():
            read_back_only_database_choices(model)
