"""The header search under row-level security (issue 16).

The text match `@@` is not leakproof, so under row-level security PostgreSQL may not use the GIN
indexes of 0019 for the runtime role: each search computed the document of every row of the
tenant in five tables (about 670 ms at 10,000 requests, growing with the data). `mwms_search_ids`
is a SECURITY DEFINER function of the owner, like the token lookup, that applies the policies'
tenant rule itself (the claim's tenant, or every tenant for an installation claim) and answers the
ids of one kind's rows whose document (the very expression of that kind's index) matches the
search box's `websearch_to_tsquery`. The search then filters `id IN (...)`, a leakproof
comparison, and ranks only the rows found.
"""

from django.db import migrations

from governance_app.migrations._postgres import postgres_only

FUNCTION_SQL = r"""
CREATE OR REPLACE FUNCTION public.mwms_search_ids(p_kind text, p_query text) RETURNS SETOF uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_kind = 'request' THEN
        RETURN QUERY SELECT id FROM public.mwms_brain_requests
        WHERE (tenant_id = (SELECT public.mwms_claim_tenant()) OR (SELECT public.mwms_claim_every_tenant()))
          AND (setweight(to_tsvector('english'::regconfig, COALESCE(request_title, '')), 'A') || setweight(to_tsvector('english'::regconfig, COALESCE(request_summary, '') || ' ' || COALESCE(response_summary, '') || ' ' || COALESCE(result_summary, '')), 'B')) @@ websearch_to_tsquery('english'::regconfig, p_query);
    ELSIF p_kind = 'task' THEN
        RETURN QUERY SELECT id FROM public.mwms_tasks
        WHERE (tenant_id = (SELECT public.mwms_claim_tenant()) OR (SELECT public.mwms_claim_every_tenant()))
          AND (setweight(to_tsvector('english'::regconfig, COALESCE(title, '')), 'A') || setweight(to_tsvector('english'::regconfig, COALESCE(task_type, '') || ' ' || COALESCE(execution_notes, '') || ' ' || COALESCE(last_error, '')), 'B')) @@ websearch_to_tsquery('english'::regconfig, p_query);
    ELSIF p_kind = 'artifact' THEN
        RETURN QUERY SELECT id FROM public.mwms_task_artifacts
        WHERE (tenant_id = (SELECT public.mwms_claim_tenant()) OR (SELECT public.mwms_claim_every_tenant()))
          AND (setweight(to_tsvector('english'::regconfig, COALESCE(artifact_type, '')), 'A') || setweight(to_tsvector('english'::regconfig, COALESCE(artifact_summary, '')), 'B')) @@ websearch_to_tsquery('english'::regconfig, p_query);
    ELSIF p_kind = 'decision' THEN
        RETURN QUERY SELECT id FROM public.mwms_decision_records
        WHERE (tenant_id = (SELECT public.mwms_claim_tenant()) OR (SELECT public.mwms_claim_every_tenant()))
          AND (setweight(to_tsvector('english'::regconfig, COALESCE(decision_summary, '')), 'A') || setweight(to_tsvector('english'::regconfig, COALESCE(reasoning, '') || ' ' || COALESCE(evidence_used, '') || ' ' || COALESCE(expected_outcome, '')), 'B')) @@ websearch_to_tsquery('english'::regconfig, p_query);
    ELSIF p_kind = 'lesson' THEN
        RETURN QUERY SELECT id FROM public.mwms_lessons_learned
        WHERE (tenant_id = (SELECT public.mwms_claim_tenant()) OR (SELECT public.mwms_claim_every_tenant()))
          AND (setweight(to_tsvector('english'::regconfig, COALESCE(insight, '')), 'A') || setweight(to_tsvector('english'::regconfig, COALESCE(event_or_experiment, '') || ' ' || COALESCE(result, '') || ' ' || COALESCE(recommended_improvement, '')), 'B')) @@ websearch_to_tsquery('english'::regconfig, p_query);
    ELSE
        RAISE EXCEPTION 'mwms_search_ids: unknown kind %', p_kind;
    END IF;
END;
$$;
REVOKE ALL ON FUNCTION public.mwms_search_ids(text, text) FROM PUBLIC;
"""
DROP_SQL = "DROP FUNCTION IF EXISTS public.mwms_search_ids(text, text);"


class Migration(migrations.Migration):

    dependencies = [("governance_app", "0019_search_indexes")]

    operations = [postgres_only(FUNCTION_SQL, DROP_SQL)]
