"""The refusal windows (0011) meet the input limits (0012): their text columns get a maximum length
like every other table's (`mwms_refusal_windows_<column>_length`)."""

import django.db.models.functions.text
import django.db.models.lookups
from django.db import migrations, models

from governance_app.kernel.db import ChecksChanged


def _length(column: str, limit: int) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(column), limit),
        name=f"mwms_refusal_windows_{column}_length", violation_error_message=f"{column}: at most {limit:,} characters.")


class Migration(migrations.Migration):

    dependencies = [
        ("governance_app", "0012_text_limits"),
    ]

    operations = [
        ChecksChanged(
            "refusalwindow",
            max_lengths={"actor_key": 300, "actor": 300, "rule": 200},
            added=[_length("actor_key", 300), _length("actor", 300), _length("rule", 200)],
        ),
    ]
