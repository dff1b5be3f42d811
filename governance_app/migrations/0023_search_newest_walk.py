"""The header search finds a common word's newest matches by walking each kind newest first (issue 16,
at a million).

`mwms_search_ids` (0022) read every match of a kind from its GIN index and sorted them to keep the
newest `p_limit` (201: the 200 the search ranks and one that says there were more). For a common
word that is most of the time: "offer" matches 140,000 requests, 84,000 tasks and about as many
artifacts at a million, and reading them from the heap took 5 s of the page's 5.1 s. Now, as the
request list's free text does (requests_app 0024), the function first walks the tenant's rows of
the kind newest first (a (tenant_id, created_at) index), checks each row's document against the
query and keeps the ones that match: a word in one row of N fills its 201 in about 201 × N rows.

- The walk is taken where it is the cheaper read: by the planner's estimate of the kind's matches
  (from its GIN index's statistics, as EXPLAIN gives it), when it fills within 20 rows a match
  (`p_walk`) and checks fewer documents than sorting would read matches (DOCUMENT_COST below).
  At a million requests "offer" is walked in requests, tasks and artifacts; at 100,000, where its
  14,000 matches are read and sorted faster than 1,400 documents are checked, it is sorted as
  before, and so is a rare word (without computing a document), and a walk that did not fill.
- The order is today's: created_at newest first, then id ascending. The index gives created_at; the
  walk reads on past its last match wanted until created_at changes (its ties) and sorts what it
  found, so the rows it keeps are the very ones the sort would.
- The tenant rule is today's: the walk reads only the claim's tenant (`tenant_id = ` its tenant),
  and an installation claim (every tenant), or none, takes the sorted path with the policies' rule.
  Which rows a Brain owner may see is still decided by the search's own query (governance_app.search).

`p_walk` NULL (the default) decides by the estimate; 0 never walks; N > 0 walks up to N rows a
match whatever the estimate: tests/governance_app/test_search.py asks every way and gets the same
ids in the same order, and tests/test_page_plans.py that the estimate decides on analysed tables.
EXPLAIN is a utility statement, which a STABLE function may not run: the function is VOLATILE.

Tasks, artifacts and lessons get the (tenant_id, created_at) index their walk needs (requests and
decisions have one: mwms_req_created, mwms_decisions_tenant_time), on PostgreSQL only like the GIN
indexes (0019), since only this function reads them: one more index entry a task and an artifact
written.
"""

from importlib import import_module

from django.db import migrations

from governance_app.migrations._postgres import postgres_only

# Each kind: its table and its document, the very expression of its GIN index (0019, 0022).
KINDS = {
    "request": ("mwms_brain_requests", "(setweight(to_tsvector('english'::regconfig, COALESCE(request_title, '')), 'A') || setweight(to_tsvector('english'::regconfig, COALESCE(request_summary, '') || ' ' || COALESCE(response_summary, '') || ' ' || COALESCE(result_summary, '')), 'B'))"),  # noqa: E501
    "task": ("mwms_tasks", "(setweight(to_tsvector('english'::regconfig, COALESCE(title, '')), 'A') || setweight(to_tsvector('english'::regconfig, COALESCE(task_type, '') || ' ' || COALESCE(execution_notes, '') || ' ' || COALESCE(last_error, '')), 'B'))"),  # noqa: E501
    "artifact": ("mwms_task_artifacts", "(setweight(to_tsvector('english'::regconfig, COALESCE(artifact_type, '')), 'A') || setweight(to_tsvector('english'::regconfig, COALESCE(artifact_summary, '')), 'B'))"),  # noqa: E501
    "decision": ("mwms_decision_records", "(setweight(to_tsvector('english'::regconfig, COALESCE(decision_summary, '')), 'A') || setweight(to_tsvector('english'::regconfig, COALESCE(reasoning, '') || ' ' || COALESCE(evidence_used, '') || ' ' || COALESCE(expected_outcome, '')), 'B'))"),  # noqa: E501
    "lesson": ("mwms_lessons_learned", "(setweight(to_tsvector('english'::regconfig, COALESCE(insight, '')), 'A') || setweight(to_tsvector('english'::regconfig, COALESCE(event_or_experiment, '') || ' ' || COALESCE(result, '') || ' ' || COALESCE(recommended_improvement, '')), 'B'))"),  # noqa: E501
}
# The walks' index, where the table has none yet.
NEW_INDEXES = {"mwms_tasks": "mwms_tasks_tenant_created", "mwms_task_artifacts": "mwms_artifacts_tenant_created",
               "mwms_lessons_learned": "mwms_lessons_tenant_created"}
TENANT = "(tenant_id = (SELECT public.mwms_claim_tenant()) OR (SELECT public.mwms_claim_every_tenant()))"
# A walk reads at most this many rows a match wanted (a word in 5% of the newest rows or more).
WALK_ROWS_PER_MATCH = 20
# A walk is for the first page's few hundred (the search asks for 201); more take the sorted matches.
WALK_UP_TO = 500
# A row's document computed and checked costs about what this many matches read from the heap and
# sorted do (measured at 100,000 requests with the rows cached: 4-10; at a million, where they are
# not, a match read costs far more). Walking to the newest p_limit of m matches among n rows checks
# p_limit * n / m documents; sorting reads m rows: the walk is cheaper when m * m >= this * p_limit * n.
DOCUMENT_COST = 10


def _branches(template: str, indent: str = "    ") -> str:
    """One IF branch a kind, each the template's statements for its table and document."""
    def body(table: str, document: str) -> str:
        text = template.format(table=table, document=document, quoted=document.replace("'", "''"), tenant=TENANT,
                               cost=DOCUMENT_COST)
        return "\n".join(indent + "    " + line for line in text.splitlines())
    return (f"\n{indent}ELS".join(f"IF p_kind = '{key}' THEN\n{body(table, document)}"
                                  for key, (table, document) in KINDS.items()) + f"\n{indent}END IF;")


# The planner's estimate of the kind's matches, from its GIN index's statistics.
ESTIMATE = """stored := (SELECT reltuples FROM pg_class WHERE oid = 'public.{table}'::regclass);
IF stored >= {cost} * p_limit THEN
    EXECUTE format('EXPLAIN (FORMAT JSON) SELECT 1 FROM public.{table} WHERE {quoted} @@ %L::tsquery', query)
        INTO plan;
    matches := (plan -> 0 -> 'Plan' ->> 'Plan Rows')::float8;
    walk := matches * per_match >= stored AND matches * matches >= {cost} * p_limit * stored;
END IF;"""
# The document is computed once a row (in the subquery, which its LIMIT keeps apart) and ranked
# only when it matches.
WALK = """OPEN newest FOR SELECT walked.id, walked.created_at,
        CASE WHEN walked.document @@ query THEN ts_rank(walked.document, query) END AS rank
    FROM (SELECT id, created_at, {document} AS document
          FROM public.{table} WHERE tenant_id = tenant ORDER BY created_at DESC LIMIT budget) AS walked;"""
# The newest p_limit of the matches, then their documents ranked.
SORTED = """RETURN QUERY WITH hits AS MATERIALIZED (
    SELECT id, created_at FROM public.{table} WHERE {tenant} AND {document} @@ query
), newest AS (
    SELECT hits.id, hits.created_at FROM hits ORDER BY hits.created_at DESC, hits.id LIMIT p_limit
)
SELECT newest.id, ts_rank({document}, query) FROM newest JOIN public.{table} ON {table}.id = newest.id
ORDER BY newest.created_at DESC, newest.id;"""

FUNCTION_SQL = rf"""
DROP FUNCTION IF EXISTS public.mwms_search_ids(text, text, integer);
DROP FUNCTION IF EXISTS public.mwms_search_ids(text, text, integer, integer);
CREATE FUNCTION public.mwms_search_ids(p_kind text, p_query text, p_limit integer,
                                       p_walk integer DEFAULT NULL)
RETURNS TABLE (id uuid, rank real)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    tenant uuid := public.mwms_claim_tenant();
    query tsquery := websearch_to_tsquery('english'::regconfig, p_query);
    per_match integer := coalesce(p_walk, {WALK_ROWS_PER_MATCH});
    budget bigint := p_limit::bigint * greatest(per_match, 0);
    walk boolean := per_match > 0 AND p_limit BETWEEN 1 AND {WALK_UP_TO} AND tenant IS NOT NULL
                    AND NOT public.mwms_claim_every_tenant();
    stored float8;
    matches float8;
    plan json;
    newest refcursor;
    candidate record;
    walked bigint := 0;
    filled boolean := false;
    ids uuid[] := '{{}}';
    ats timestamptz[] := '{{}}';
    ranks real[] := '{{}}';
    last_wanted timestamptz;
BEGIN
    IF p_kind NOT IN ({", ".join(f"'{key}'" for key in KINDS)}) THEN
        RAISE EXCEPTION 'mwms_search_ids: unknown kind %', p_kind;
    END IF;
    IF walk AND p_walk IS NULL THEN
        -- Only where it fills within its rows and costs less than the sort: by the planner's estimate.
        walk := false;
        {_branches(ESTIMATE, "        ")}
    END IF;
    IF walk THEN
        -- The kind's newest rows, each checked: a common word fills its page here.
        {_branches(WALK, "        ")}
        LOOP
            FETCH newest INTO candidate;
            EXIT WHEN NOT FOUND;
            walked := walked + 1;
            IF candidate.created_at < last_wanted THEN
                -- Past the last match wanted and its ties: what was found holds the newest p_limit.
                filled := true;
                EXIT;
            END IF;
            IF candidate.rank IS NOT NULL THEN
                ids := ids || candidate.id;
                ats := ats || candidate.created_at;
                ranks := ranks || candidate.rank;
                IF last_wanted IS NULL AND cardinality(ids) >= p_limit THEN
                    last_wanted := candidate.created_at;
                END IF;
            END IF;
        END LOOP;
        CLOSE newest;
        RAISE DEBUG 'mwms_search_ids: % walked % rows, filled: %', p_kind, walked, filled OR walked < budget;
        -- Filled, or every row of the tenant was walked.
        IF filled OR walked < budget THEN
            RETURN QUERY SELECT u.id, u.rank FROM unnest(ids, ats, ranks) AS u(id, at, rank)
                         ORDER BY u.at DESC, u.id LIMIT p_limit;
            RETURN;
        END IF;
    END IF;
    -- A rarer word (or a walk that did not fill): its matches from the GIN index, sorted.
    {_branches(SORTED)}
END;
$$;
REVOKE ALL ON FUNCTION public.mwms_search_ids(text, text, integer, integer) FROM PUBLIC;
""" + "".join(f"CREATE INDEX IF NOT EXISTS {index} ON public.{table} (tenant_id, created_at);\n"
              for table, index in NEW_INDEXES.items())

# Back to 0022's function (and its indexes).
DROP_SQL = ("DROP FUNCTION IF EXISTS public.mwms_search_ids(text, text, integer, integer);\n"
            + import_module("governance_app.migrations.0022_search_newest").FUNCTION_SQL
            + "".join(f"DROP INDEX IF EXISTS public.{index};\n" for index in NEW_INDEXES.values()))


class Migration(migrations.Migration):

    dependencies = [("governance_app", "0022_search_newest")]

    operations = [postgres_only(FUNCTION_SQL, DROP_SQL)]
