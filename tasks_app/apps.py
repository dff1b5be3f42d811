from django.apps import AppConfig


class TasksAppConfig(AppConfig):
    name = "tasks_app"
    verbose_name = "Tasks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from governance_app.kernel.fastpath import read_back_only_database_choices

        for model in self.get_models():
            read_back_only_database_choices(model)
