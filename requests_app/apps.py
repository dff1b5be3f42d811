from django.apps import AppConfig


class RequestsAppConfig(AppConfig):
    name = "requests_app"
    verbose_name = "Brain Requests"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from governance_app.kernel.fastpath import read_back_only_database_choices

        for model in self.get_models():
            read_back_only_database_choices(model)
