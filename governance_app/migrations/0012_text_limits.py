"""Input limits (issue 17, item 6): every free-text column of the authority model, decisions,
lessons, canon and idempotency records gets a maximum length, and every JSON column a maximum size,
as CHECK constraints (`<table>_<column>_length` / `_size`: the limits of
governance_app/kernel/limits.py as they were when this migration was written).
"""

import django.db.models.functions.comparison
import django.db.models.functions.text
import django.db.models.lookups
from django.db import migrations, models

from governance_app.kernel.db import ChecksChanged


class Migration(migrations.Migration):

    dependencies = [
        ("governance_app", "0011_refusal_windows"),
    ]

    operations = [
        # A field whose choices or help text change too; no SQL (a CHECK below says what it holds).
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(
                model_name='idempotencyrecord',
                name='fingerprint',
                field=models.TextField(help_text="SHA-256 of the method, the path and the body's JSON of the first call.", max_length=200),
            ),
        ]),
        ChecksChanged(
            "apitoken",
            max_lengths={
                "label": 200, "prefix": 200, "token_hash": 200,
            },
            added=[
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('label'), 200), name='mwms_api_tokens_label_length', violation_error_message='label: at most 200 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('prefix'), 200), name='mwms_api_tokens_prefix_length', violation_error_message='prefix: at most 200 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('token_hash'), 200), name='mwms_api_tokens_token_hash_length', violation_error_message='token_hash: at most 200 characters.'),
            ],
        ),
        ChecksChanged(
            "brain",
            max_lengths={
                "charter": 20000, "name": 200, "slug": 200,
            },
            added=[
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('slug'), 200), name='mwms_brains_slug_length', violation_error_message='slug: at most 200 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('name'), 200), name='mwms_brains_name_length', violation_error_message='name: at most 200 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('charter'), 20000), name='mwms_brains_charter_length', violation_error_message='charter: at most 20,000 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(django.db.models.functions.comparison.Cast('accepted_request_types', models.TextField())), 100000), name='mwms_brains_accepted_request_types_size', violation_error_message='accepted_request_types: at most 100,000 characters as JSON.'),
            ],
        ),
        ChecksChanged(
            "canonamendment",
            max_lengths={
                "approved_by": 300, "body_after": 100000, "body_before": 100000, "diff": 1000000,
                "version_after": 200, "version_before": 200,
            },
            added=[
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('version_before'), 200), name='mwms_canon_amendments_version_before_length', violation_error_message='version_before: at most 200 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('version_after'), 200), name='mwms_canon_amendments_version_after_length', violation_error_message='version_after: at most 200 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('body_before'), 100000), name='mwms_canon_amendments_body_before_length', violation_error_message='body_before: at most 100,000 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('body_after'), 100000), name='mwms_canon_amendments_body_after_length', violation_error_message='body_after: at most 100,000 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('diff'), 1000000), name='mwms_canon_amendments_diff_length', violation_error_message='diff: at most 1,000,000 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('approved_by'), 300), name='mwms_canon_amendments_approved_by_length', violation_error_message='approved_by: at most 300 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(django.db.models.functions.comparison.Cast('evidence', models.TextField())), 100000), name='mwms_canon_amendments_evidence_size', violation_error_message='evidence: at most 100,000 characters as JSON.'),
            ],
        ),
        ChecksChanged(
            "canondocument",
            max_lengths={
                "body": 100000, "document_type": 200, "slug": 200, "title": 300, "version": 200,
            },
            added=[
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('slug'), 200), name='mwms_canon_documents_slug_length', violation_error_message='slug: at most 200 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('title'), 300), name='mwms_canon_documents_title_length', violation_error_message='title: at most 300 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('document_type'), 200), name='mwms_canon_documents_document_type_length', violation_error_message='document_type: at most 200 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('version'), 200), name='mwms_canon_documents_version_length', violation_error_message='version: at most 200 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('body'), 100000), name='mwms_canon_documents_body_length', violation_error_message='body: at most 100,000 characters.'),
            ],
        ),
        ChecksChanged(
            "decisionrecord",
            max_lengths={
                "decision_summary": 20000, "evidence_used": 20000, "expected_outcome": 20000, "reasoning": 20000,
                "recorded_by": 300,
            },
            added=[
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('decision_summary'), 20000), name='mwms_decision_records_decision_summary_length', violation_error_message='decision_summary: at most 20,000 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('reasoning'), 20000), name='mwms_decision_records_reasoning_length', violation_error_message='reasoning: at most 20,000 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('evidence_used'), 20000), name='mwms_decision_records_evidence_used_length', violation_error_message='evidence_used: at most 20,000 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('expected_outcome'), 20000), name='mwms_decision_records_expected_outcome_length', violation_error_message='expected_outcome: at most 20,000 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('recorded_by'), 300), name='mwms_decision_records_recorded_by_length', violation_error_message='recorded_by: at most 300 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(django.db.models.functions.comparison.Cast('affected_brains', models.TextField())), 100000), name='mwms_decision_records_affected_brains_size', violation_error_message='affected_brains: at most 100,000 characters as JSON.'),
            ],
        ),
        ChecksChanged(
            "idempotencyrecord",
            max_lengths={
                "key": 255,
            },
            added=[
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('key'), 255), name='mwms_idempotency_keys_key_length', violation_error_message='key: at most 255 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('fingerprint'), 200), name='mwms_idempotency_keys_fingerprint_length', violation_error_message='fingerprint: at most 200 characters.'),
            ],
        ),
        ChecksChanged(
            "lessonlearned",
            max_lengths={
                "event_or_experiment": 300, "insight": 20000, "recommended_improvement": 20000, "recorded_by": 300,
                "result": 20000,
            },
            added=[
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('event_or_experiment'), 300), name='mwms_lessons_learned_event_or_experiment_length', violation_error_message='event_or_experiment: at most 300 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('result'), 20000), name='mwms_lessons_learned_result_length', violation_error_message='result: at most 20,000 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('insight'), 20000), name='mwms_lessons_learned_insight_length', violation_error_message='insight: at most 20,000 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('recommended_improvement'), 20000), name='mwms_lessons_learned_recommended_improvement_length', violation_error_message='recommended_improvement: at most 20,000 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('recorded_by'), 300), name='mwms_lessons_learned_recorded_by_length', violation_error_message='recorded_by: at most 300 characters.'),
            ],
        ),
        ChecksChanged(
            "tenant",
            max_lengths={
                "domain": 253, "name": 200, "slug": 200,
            },
            added=[
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('slug'), 200), name='mwms_tenants_slug_length', violation_error_message='slug: at most 200 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('name'), 200), name='mwms_tenants_name_length', violation_error_message='name: at most 200 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('domain'), 253), name='mwms_tenants_domain_length', violation_error_message='domain: at most 253 characters.'),
            ],
        ),
    ]
