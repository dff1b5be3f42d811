"""The request list's free text, newest first, reads a page of matches, not all of them (issue 16).

With a common word ("offer": 14,000 of 100,000 requests) the list joined every match to sort
them and read their rows (105 ms), and its capped count ran the lookup again (34 ms). When the
free text is the list's only filter and the list is newest first (its default), the page is the
newest matches: `mwms_request_text_newest` answers the ids of the newest `p_limit` of them (the
matches read from the GIN and id indexes first, MATERIALIZED, so that the planner cannot trade
that for a walk of the updated_at index that computes every row's document, as
`mwms_search_ids` does, governance_app 0022), and only those rows are read. `mwms_request_text_count`
counts the matches up to `p_cap` from the same indexes without sorting them. Both match as
`mwms_request_text_ids` (0017) does and keep to the claim's tenant as the policies do.
"""

from django.db import migrations

from governance_app.migrations._postgres import postgres_only

MATCH = r"""(tenant_id = (SELECT public.mwms_claim_tenant()) OR (SELECT public.mwms_claim_every_tenant()))
              AND ((setweight(to_tsvector('english'::regconfig, COALESCE(request_title, '')), 'A') || setweight(to_tsvector('english'::regconfig, COALESCE(request_summary, '') || ' ' || COALESCE(response_summary, '') || ' ' || COALESCE(result_summary, '')), 'B')) @@ to_tsquery('english'::regconfig, p_query)
                   OR (offer_id <> '' AND upper(offer_id) = ANY (p_ids))
                   OR (intake_id <> '' AND upper(intake_id) = ANY (p_ids))
                   OR (experiment_id <> '' AND upper(experiment_id) = ANY (p_ids)))"""

EXECUTED = (MATCH.replace("'", "''").replace("p_query", "$1").replace("p_ids", "$2"))

FUNCTION_SQL = rf"""
CREATE OR REPLACE FUNCTION public.mwms_request_text_newest(p_query text, p_ids text[], p_limit integer)
RETURNS SETOF uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY WITH hits AS MATERIALIZED (
        SELECT id, updated_at FROM public.mwms_brain_requests
        WHERE {MATCH}
    )
    SELECT hits.id FROM hits ORDER BY hits.updated_at DESC, hits.id DESC LIMIT p_limit;
END;
$$;
REVOKE ALL ON FUNCTION public.mwms_request_text_newest(text, text[], integer) FROM PUBLIC;
CREATE OR REPLACE FUNCTION public.mwms_request_text_count(p_query text, p_ids text[], p_cap integer)
RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    found bigint;
BEGIN
    -- EXECUTE: planned for these words each time (a generic plan would not know how common they
    -- are, and could read the table in order to find the first p_cap).
    EXECUTE 'SELECT count(*) FROM (SELECT 1 FROM public.mwms_brain_requests WHERE {EXECUTED} LIMIT $3) capped'
        INTO found USING p_query, p_ids, p_cap;
    RETURN found;
END;
$$;
REVOKE ALL ON FUNCTION public.mwms_request_text_count(text, text[], integer) FROM PUBLIC;
"""
DROP_SQL = r"""
DROP FUNCTION IF EXISTS public.mwms_request_text_newest(text, text[], integer);
DROP FUNCTION IF EXISTS public.mwms_request_text_count(text, text[], integer);
"""


class Migration(migrations.Migration):

    dependencies = [("requests_app", "0022_list_key_indexes")]

    operations = [postgres_only(FUNCTION_SQL, DROP_SQL)]
