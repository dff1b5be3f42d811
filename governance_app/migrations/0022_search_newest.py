"""The header search reads the newest matches of each kind, not every one (issue 16).

`mwms_search_ids` (0020) answered every row of a kind whose document matched, and the search
ranked them all: a common word ("offer": 14,000 requests, 8,000 tasks, 7,000 artifacts at
100,000 requests) meant computing 30,000 documents for one page of hits, 1.8 s. The function now
takes a limit and answers the newest `p_limit` matching ids of the kind (the matches are read
from the GIN index first, MATERIALIZED, so the planner cannot trade that for a walk of the
created_at index that computes every row's document), and the search ranks only those. The
search asks for one more than it shows, so a page can say when a kind had more.
"""

from django.db import migrations

from governance_app.migrations._postgres import postgres_only

FUNCTION_SQL = r"""
DROP FUNCTION IF EXISTS public.mwms_search_ids(text, text);
CREATE OR REPLACE FUNCTION public.mwms_search_ids(p_kind text, p_query text, p_limit integer) RETURNS SETOF uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_kind = 'request' THEN
        RETURN QUERY WITH hits AS MATERIALIZED (
            SELECT id, created_at FROM public.mwms_brain_requests
            WHERE (tenant_id = (SELECT public.mwms_claim_tenant()) OR (SELECT public.mwms_claim_every_tenant()))
              AND (setweight(to_tsvector('english'::regconfig, COALESCE(request_title, '')), 'A') || setweight(to_tsvector('english'::regconfig, COALESCE(request_summary, '') || ' ' || COALESCE(response_summary, '') || ' ' || COALESCE(result_summary, '')), 'B')) @@ websearch_to_tsquery('english'::regconfig, p_query)
        )
        SELECT hits.id FROM hits ORDER BY hits.created_at DESC, hits.id LIMIT p_limit;
    ELSIF p_kind = 'task' THEN
        RETURN QUERY WITH hits AS MATERIALIZED (
            SELECT id, created_at FROM public.mwms_tasks
            WHERE (tenant_id = (SELECT public.mwms_claim_tenant()) OR (SELECT public.mwms_claim_every_tenant()))
              AND (setweight(to_tsvector('english'::regconfig, COALESCE(title, '')), 'A') || setweight(to_tsvector('english'::regconfig, COALESCE(task_type, '') || ' ' || COALESCE(execution_notes, '') || ' ' || COALESCE(last_error, '')), 'B')) @@ websearch_to_tsquery('english'::regconfig, p_query)
        )
        SELECT hits.id FROM hits ORDER BY hits.created_at DESC, hits.id LIMIT p_limit;
    ELSIF p_kind = 'artifact' THEN
        RETURN QUERY WITH hits AS MATERIALIZED (
            SELECT id, created_at FROM public.mwms_task_artifacts
            WHERE (tenant_id = (SELECT public.mwms_claim_tenant()) OR (SELECT public.mwms_claim_every_tenant()))
              AND (setweight(to_tsvector('english'::regconfig, COALESCE(artifact_type, '')), 'A') || setweight(to_tsvector('english'::regconfig, COALESCE(artifact_summary, '')), 'B')) @@ websearch_to_tsquery('english'::regconfig, p_query)
        )
        SELECT hits.id FROM hits ORDER BY hits.created_at DESC, hits.id LIMIT p_limit;
    ELSIF p_kind = 'decision' THEN
        RETURN QUERY WITH hits AS MATERIALIZED (
            SELECT id, created_at FROM public.mwms_decision_records
            WHERE (tenant_id = (SELECT public.mwms_claim_tenant()) OR (SELECT public.mwms_claim_every_tenant()))
              AND (setweight(to_tsvector('english'::regconfig, COALESCE(decision_summary, '')), 'A') || setweight(to_tsvector('english'::regconfig, COALESCE(reasoning, '') || ' ' || COALESCE(evidence_used, '') || ' ' || COALESCE(expected_outcome, '')), 'B')) @@ websearch_to_tsquery('english'::regconfig, p_query)
        )
        SELECT hits.id FROM hits ORDER BY hits.created_at DESC, hits.id LIMIT p_limit;
    ELSIF p_kind = 'lesson' THEN
        RETURN QUERY WITH hits AS MATERIALIZED (
            SELECT id, created_at FROM public.mwms_lessons_learned
            WHERE (tenant_id = (SELECT public.mwms_claim_tenant()) OR (SELECT public.mwms_claim_every_tenant()))
              AND (setweight(to_tsvector('english'::regconfig, COALESCE(insight, '')), 'A') || setweight(to_tsvector('english'::regconfig, COALESCE(event_or_experiment, '') || ' ' || COALESCE(result, '') || ' ' || COALESCE(recommended_improvement, '')), 'B')) @@ websearch_to_tsquery('english'::regconfig, p_query)
        )
        SELECT hits.id FROM hits ORDER BY hits.created_at DESC, hits.id LIMIT p_limit;
    ELSE
        RAISE EXCEPTION 'mwms_search_ids: unknown kind %', p_kind;
    END IF;
END;
$$;
REVOKE ALL ON FUNCTION public.mwms_search_ids(text, text, integer) FROM PUBLIC;
"""
DROP_SQL = r"""
DROP FUNCTION IF EXISTS public.mwms_search_ids(text, text, integer);
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


class Migration(migrations.Migration):

    dependencies = [("governance_app", "0021_suggestion_evidence")]

    operations = [postgres_only(FUNCTION_SQL, DROP_SQL)]
