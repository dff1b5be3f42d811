"""Which of these requests match the free text (issue 16): the walk of a list with free text and
other filters or another order.

The request list with free text and any other filter or sort read every match of the words
(`mwms_request_text_ids`) and joined them to the list: for a common word at a million requests,
141,000 ids and as many row lookups, 3–4 s, for a page of 25. Now the list walks its own rows
without the free text, in its own order (an index serves it), and asks this function which of a
few hundred of them match; a common word fills the page from them
(`requests_app.selectors.TextWalkPaginator`). It matches as `mwms_request_text_ids` does and keeps
to the claim's tenant as the policies do; the candidates are read by their primary key and only
their documents are computed.
"""

from django.db import migrations

from governance_app.migrations._postgres import postgres_only

DOCUMENT_MATCH = r"""((setweight(to_tsvector('english'::regconfig, COALESCE(request_title, '')), 'A') || setweight(to_tsvector('english'::regconfig, COALESCE(request_summary, '') || ' ' || COALESCE(response_summary, '') || ' ' || COALESCE(result_summary, '')), 'B')) @@ to_tsquery('english'::regconfig, p_query)
                   OR (offer_id <> '' AND upper(offer_id) = ANY (p_ids))
                   OR (intake_id <> '' AND upper(intake_id) = ANY (p_ids))
                   OR (experiment_id <> '' AND upper(experiment_id) = ANY (p_ids)))"""
TENANT = "(tenant_id = (SELECT public.mwms_claim_tenant()) OR (SELECT public.mwms_claim_every_tenant()))"

FUNCTION_SQL = rf"""
CREATE OR REPLACE FUNCTION public.mwms_request_text_match(p_query text, p_ids text[], p_candidates uuid[])
RETURNS SETOF uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- plpgsql: its body is checked when it runs, after the claim's functions exist (the security step).
    -- The candidates are read first (MATERIALIZED), each by its key, and only their documents are
    -- computed: offered the words' GIN index, the planner would AND a bitmap of all their matches.
    RETURN QUERY WITH candidates AS MATERIALIZED (
        SELECT id, request_title, request_summary, response_summary, result_summary, offer_id, intake_id,
               experiment_id
        FROM public.mwms_brain_requests WHERE id = ANY (p_candidates) AND {TENANT}
    )
    SELECT candidates.id FROM candidates WHERE {DOCUMENT_MATCH};
END;
$$;
REVOKE ALL ON FUNCTION public.mwms_request_text_match(text, text[], uuid[]) FROM PUBLIC;
"""
DROP_SQL = "DROP FUNCTION IF EXISTS public.mwms_request_text_match(text, text[], uuid[]);"


class Migration(migrations.Migration):

    dependencies = [("requests_app", "0026_free_text_count_estimate")]

    operations = [postgres_only(FUNCTION_SQL, DROP_SQL)]
