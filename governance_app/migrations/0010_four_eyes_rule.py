"""The tenant's four-eyes rule (issue 17): when on, the HeadOffice reviewer who classified a
suggestion as propose_mcr_update does not also approve it. Off for every existing tenant, the
default tenant included: `seed_demo` turns it on when it tells the demo's story."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('governance_app', '0009_definer_lookups_in_plpgsql'),
    ]

    operations = [
        migrations.AddField(
            model_name='tenant',
            name='four_eyes_rule',
            field=models.BooleanField(db_default=False, default=False, help_text='The HeadOffice reviewer who classified a suggestion as propose_mcr_update may not also approve the MCR update: another reviewer must.', verbose_name='four-eyes rule'),
        ),
    ]
