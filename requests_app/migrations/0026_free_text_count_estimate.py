"""A common word's count is the planner's estimate, not a bitmap of all its matches, and its
matches are read with a bitmap that stays exact (issue 16).

`mwms_request_text_count` (0023) counted the matches up to the cap (1,001) from the GIN index. A
bitmap index scan is not incremental: the LIMIT stops the heap reads, but the bitmap of every match
is built first, so a common word paid for all its matches ("offer": 140,000 of a million requests,
about 225 ms, for a count the page shows as "about" anyway). Now the function first asks the planner
how many rows the words match in the claim's tenant (EXPLAIN: the statistics ANALYZE keeps of the
document expression the GIN index is built on, its most common words included). When that is ten
times the cap or more, the answer is the estimate and no match is read; otherwise the matches are
counted up to the cap as before. (VOLATILE: PostgreSQL allows EXPLAIN in no other function.) An answer of the cap or more is an estimate (at least the cap);
below the cap it is exact, as before.
"""

from django.db import migrations

from governance_app.migrations._postgres import postgres_only

DOCUMENT_MATCH = r"""((setweight(to_tsvector('english'::regconfig, COALESCE(request_title, '')), 'A') || setweight(to_tsvector('english'::regconfig, COALESCE(request_summary, '') || ' ' || COALESCE(response_summary, '') || ' ' || COALESCE(result_summary, '')), 'B')) @@ to_tsquery('english'::regconfig, $1)
                   OR (offer_id <> '' AND upper(offer_id) = ANY ($2))
                   OR (intake_id <> '' AND upper(intake_id) = ANY ($2))
                   OR (experiment_id <> '' AND upper(experiment_id) = ANY ($2)))"""
EXECUTED = DOCUMENT_MATCH.replace("'", "''")
TENANT = "(tenant_id = (SELECT public.mwms_claim_tenant()) OR (SELECT public.mwms_claim_every_tenant()))"
# An estimate this many times the cap is trusted without counting (the statistics would have to be
# off tenfold for the page to say "about" of fewer rows than the cap).
TRUSTED_ABOVE = 10


COUNTED = rf"""
    -- EXECUTE: planned for these words each time (a generic plan would not know how common they
    -- are, and could read the table in order to find the first p_cap).
    EXECUTE 'SELECT count(*) FROM (SELECT 1 FROM public.mwms_brain_requests WHERE {TENANT.replace("'", "''")} AND {EXECUTED} LIMIT $3) capped'
        INTO found USING p_query, p_ids, p_cap;"""


def function_sql(*, estimating: bool) -> str:
    declared = "found bigint;\n    tenant uuid := public.mwms_claim_tenant();\n    plan json;\n    estimate bigint := 0;"
    estimate = rf"""
    -- Planned with the tenant's id itself (not the claim's subquery), so that its share of the
    -- table is known too. No claim of one tenant: counted.
    IF tenant IS NOT NULL THEN
        EXECUTE 'EXPLAIN (FORMAT JSON) SELECT 1 FROM public.mwms_brain_requests WHERE tenant_id = $3 AND {EXECUTED}'
            INTO plan USING p_query, p_ids, tenant;
        estimate := (plan -> 0 -> 'Plan' ->> 'Plan Rows')::numeric::bigint;
        IF estimate >= p_cap::bigint * {TRUSTED_ABOVE} THEN
            RETURN estimate;
        END IF;
    END IF;"""
    answer = "CASE WHEN found >= p_cap THEN greatest(found, estimate) ELSE found END" if estimating else "found"
    return rf"""
CREATE OR REPLACE FUNCTION public.mwms_request_text_count(p_query text, p_ids text[], p_cap integer)
RETURNS bigint
LANGUAGE plpgsql {"VOLATILE" if estimating else "STABLE"} SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    {declared if estimating else "found bigint;"}
BEGIN{estimate if estimating else ""}{COUNTED}
    RETURN {answer};
END;
$$;
REVOKE ALL ON FUNCTION public.mwms_request_text_count(text, text[], integer) FROM PUBLIC;
"""


# The free-text functions bitmap-scan every match of their words when they read them from the GIN
# index. With the default work_mem (4MB) the bitmap of a common word's 140,000 matches at a million
# requests goes lossy, and every row of a lossy page is checked again by computing its document:
# 16 s for "offer", against 0.9 s with the bitmap exact. 32MB keeps a bitmap of every page of a
# million requests exact; it is used only as far as a query needs it.
FUNCTIONS = ("mwms_request_text_ids(text, text[])", "mwms_request_text_newest(text, text[], integer, integer)",
             "mwms_request_text_count(text, text[], integer)")
WORK_MEM_SQL = "".join(f"ALTER FUNCTION public.{function} SET work_mem = '32MB';\n" for function in FUNCTIONS)
WORK_MEM_RESET_SQL = "".join(f"ALTER FUNCTION public.{function} RESET work_mem;\n" for function in FUNCTIONS)


class Migration(migrations.Migration):

    dependencies = [("requests_app", "0025_queue_walk_indexes")]

    operations = [postgres_only(function_sql(estimating=True), function_sql(estimating=False)),
                  postgres_only(WORK_MEM_SQL, WORK_MEM_RESET_SQL)]
