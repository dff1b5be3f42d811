"""The request list's free text under row-level security (issue 16).

The text match `@@` and `upper()` are not leakproof, so under row-level security PostgreSQL may not
use an index for them: the runtime role's free text read every request of its tenant (1.1 s at
100,000 requests). `mwms_request_text_ids` is a SECURITY DEFINER function of the owner that applies
the tenant rule of the policies itself (the claim's tenant, or every tenant for an installation
claim) and answers the ids of the requests whose full-text document (the very expression of the
mwms_search_request GIN index) matches a tsquery, or whose offer, intake or experiment id, upper-cased,
is one of the given ones (the partial indexes below). The list then filters `id IN (...)`, a leakproof
comparison.
"""

import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models

from governance_app.migrations._postgres import postgres_only

FUNCTION_SQL = r"""
CREATE OR REPLACE FUNCTION public.mwms_request_text_ids(p_query text, p_ids text[]) RETURNS SETOF uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT id FROM public.mwms_brain_requests
    WHERE (tenant_id = (SELECT public.mwms_claim_tenant()) OR (SELECT public.mwms_claim_every_tenant()))
      AND ((setweight(to_tsvector('english'::regconfig, COALESCE(request_title, '')), 'A') || setweight(to_tsvector('english'::regconfig, COALESCE(request_summary, '') || ' ' || COALESCE(response_summary, '') || ' ' || COALESCE(result_summary, '')), 'B')) @@ to_tsquery('english'::regconfig, p_query)
           OR (offer_id <> '' AND upper(offer_id) = ANY (p_ids))
           OR (intake_id <> '' AND upper(intake_id) = ANY (p_ids))
           OR (experiment_id <> '' AND upper(experiment_id) = ANY (p_ids)));
END;
$$;
REVOKE ALL ON FUNCTION public.mwms_request_text_ids(text, text[]) FROM PUBLIC;
"""
DROP_SQL = "DROP FUNCTION IF EXISTS public.mwms_request_text_ids(text, text[]);"


class Migration(migrations.Migration):

    dependencies = [
        ('governance_app', '0019_search_indexes'),
        ('requests_app', '0016_notification_kinds_assigned_and_sla'),
        ('tasks_app', '0008_hash_chain_columns_and_write_once_artifacts'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        postgres_only(FUNCTION_SQL, DROP_SQL),
        migrations.AddIndex(
            model_name='brainrequest',
            index=models.Index(django.db.models.functions.text.Upper('offer_id'), condition=models.Q(('offer_id', ''), _negated=True), name='mwms_req_offer_id_ci'),
        ),
        migrations.AddIndex(
            model_name='brainrequest',
            index=models.Index(django.db.models.functions.text.Upper('intake_id'), condition=models.Q(('intake_id', ''), _negated=True), name='mwms_req_intake_id_ci'),
        ),
        migrations.AddIndex(
            model_name='brainrequest',
            index=models.Index(django.db.models.functions.text.Upper('experiment_id'), condition=models.Q(('experiment_id', ''), _negated=True), name='mwms_req_experiment_id_ci'),
        ),
    ]
