"""A common word's newest matches are found by walking the list's order (issue 16, at a million).

`mwms_request_text_newest` (0023) read every match of the words from the GIN index and sorted them
to keep the newest few. For a rare word that is a handful of rows; for a common one it is all of
them ("offer": 14,000 of 100,000 requests, 140,000 of a million: 38 s at a million, most of it
the heap reads), for a page of 26. Now, on the first 20 pages, the function first walks the
tenant's requests newest first (the (tenant_id, updated_at) index), checking each row's document,
and keeps the ones that match: a word in one request of N fills a page of 26 in about 26 × N rows.
The walk gives up after 20 rows a match wanted (a word in fewer than 5% of the newest requests),
and then, as for a rare word and on deeper pages, the matches are read from the indexes and
sorted as before. The answer, its order and its tenant are the same either way
(tests/requests_app/test_free_text.py asks both ways: `p_walk` 0 never walks).
"""

from django.db import migrations

from governance_app.migrations._postgres import postgres_only

DOCUMENT_MATCH = r"""((setweight(to_tsvector('english'::regconfig, COALESCE(request_title, '')), 'A') || setweight(to_tsvector('english'::regconfig, COALESCE(request_summary, '') || ' ' || COALESCE(response_summary, '') || ' ' || COALESCE(result_summary, '')), 'B')) @@ to_tsquery('english'::regconfig, p_query)
                   OR (offer_id <> '' AND upper(offer_id) = ANY (p_ids))
                   OR (intake_id <> '' AND upper(intake_id) = ANY (p_ids))
                   OR (experiment_id <> '' AND upper(experiment_id) = ANY (p_ids)))"""
TENANT = "(tenant_id = (SELECT public.mwms_claim_tenant()) OR (SELECT public.mwms_claim_every_tenant()))"
# A walk reads at most this many rows a match wanted before it gives way to the sorted matches (a
# word in 5% of the requests or more fills its page within it).
WALK_ROWS_PER_MATCH = 20
# Deeper pages (more than this many rows, the first 20 pages) take the sorted matches.
WALK_UP_TO = 500

FUNCTION_SQL = rf"""
DROP FUNCTION IF EXISTS public.mwms_request_text_newest(text, text[], integer);
CREATE FUNCTION public.mwms_request_text_newest(p_query text, p_ids text[], p_limit integer,
                                                p_walk integer DEFAULT {WALK_ROWS_PER_MATCH})
RETURNS SETOF uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tenant uuid := public.mwms_claim_tenant();
    found uuid[] := '{{}}';
    candidate record;
BEGIN
    IF p_limit < 1 THEN
        RETURN;
    END IF;
    IF p_walk > 0 AND tenant IS NOT NULL AND p_limit <= {WALK_UP_TO} THEN
        -- The newest rows in the list's order, each checked: a common word fills its page here.
        FOR candidate IN SELECT id, {DOCUMENT_MATCH} AS hit FROM public.mwms_brain_requests
                         WHERE tenant_id = tenant ORDER BY updated_at DESC, id DESC
                         LIMIT p_limit::bigint * p_walk LOOP
            IF candidate.hit THEN
                found := found || candidate.id;
                IF cardinality(found) >= p_limit THEN
                    RETURN QUERY SELECT u.id FROM unnest(found) WITH ORDINALITY AS u(id, n) ORDER BY u.n;
                    RETURN;
                END IF;
            END IF;
        END LOOP;
    END IF;
    -- A rarer word (or a deep page): its matches from the indexes, sorted.
    RETURN QUERY WITH hits AS MATERIALIZED (
        SELECT id, updated_at FROM public.mwms_brain_requests WHERE {TENANT} AND {DOCUMENT_MATCH}
    )
    SELECT hits.id FROM hits ORDER BY hits.updated_at DESC, hits.id DESC LIMIT p_limit;
END;
$$;
REVOKE ALL ON FUNCTION public.mwms_request_text_newest(text, text[], integer, integer) FROM PUBLIC;
"""

# Back to 0023's function.
DROP_SQL = rf"""
DROP FUNCTION IF EXISTS public.mwms_request_text_newest(text, text[], integer, integer);
CREATE FUNCTION public.mwms_request_text_newest(p_query text, p_ids text[], p_limit integer)
RETURNS SETOF uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY WITH hits AS MATERIALIZED (
        SELECT id, updated_at FROM public.mwms_brain_requests WHERE {TENANT} AND {DOCUMENT_MATCH}
    )
    SELECT hits.id FROM hits ORDER BY hits.updated_at DESC, hits.id DESC LIMIT p_limit;
END;
$$;
REVOKE ALL ON FUNCTION public.mwms_request_text_newest(text, text[], integer) FROM PUBLIC;
"""


class Migration(migrations.Migration):

    dependencies = [("requests_app", "0023_free_text_newest")]

    operations = [postgres_only(FUNCTION_SQL, DROP_SQL)]
