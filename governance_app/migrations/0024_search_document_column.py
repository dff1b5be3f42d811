"""The header search reads the document of tasks, artifacts, decisions and lessons stored, not
computed (issue 16: 25 ms at 100,000 requests, 50 ms at a million).

`mwms_search_ids` (0023) computed `to_tsvector` of every row it walked and of every match it ranked:
about 55 µs a request (its 215 characters of text), most of the search's time. For "offer" at 100,000
requests the 201 ranks of a kind took up to 11 ms; at a million the walks computed 6,400 documents.
Tasks, artifacts, decisions and lessons now keep their document in a column, `search_document`,
GENERATED ALWAYS AS the very expression of the table's GIN index (0019) and STORED:

- PostgreSQL computes it when a row is written (and again on each UPDATE of the row), so it is
  always the indexed document: a generated column cannot be written, by the app or by hand.
- Adding it rewrites each table once (computing every row's document, rebuilding the table's
  indexes); no UPDATE runs, so no row trigger fires (artifacts, decisions and lessons are
  write-once behind triggers) and no `updated_at`, chain head or lock version changes.
- The models do not declare it (it is PostgreSQL's, like the GIN indexes): the digests and the chain
  (governance_app.kernel.digests, chain) hash the models' concrete fields, so no digest changes; the
  app never selects it (no `SELECT *`), SQLite has no such column.
- The GIN indexes stay on the expression: they find the matches, and their answers do not change.
- Not the requests (STORED below): their table is read in full by the dashboard's figures, and the
  column's 370 bytes a row (+37% of its heap) turned that count's plan at 20,000 requests from an
  index to a sequential scan (tests/test_page_plans.py). A request's document is computed as before.

The function then walks a kind newest first checking the stored document (a heap read and an `@@`,
not a parse of the text), and ranks the matches it keeps with `ts_rank` of the stored document. A
walk's row now costs about what two sorted matches do (DOCUMENT_COST), so a common word is walked at
100,000 requests too, and its cost stays flat as the data grows: 201 × (rows / matches).
Same ids, same order, same ranks (tests/governance_app/test_search.py asks every way); each with
its created_at too, so the search orders HeadOffice's page itself and reads only its rows
(governance_app.search). It also runs with work_mem 32MB, as the request list's free text does
(requests_app 0026), so a common word's bitmap stays exact (no "lossy" pages rechecked).
"""

from importlib import import_module

from django.db import migrations

from governance_app.migrations._postgres import postgres_only

_previous = import_module("governance_app.migrations.0023_search_newest_walk")

KINDS = _previous.KINDS          # kind → (table, its document: the GIN index's expression)
COLUMN = "search_document"
# The kinds whose document is stored. Not the requests: their table is the one the other pages read
# in full (the dashboard's figures), and 370 bytes more a row (+37% of its heap) turned the plan of
# the dashboard's count at 20,000 requests from its open-requests index to a sequential scan
# (tests/test_page_plans.py). A request's document is computed as before.
STORED = ("task", "artifact", "decision", "lesson")
TENANT = _previous.TENANT
WALK_ROWS_PER_MATCH = _previous.WALK_ROWS_PER_MATCH
WALK_UP_TO = _previous.WALK_UP_TO
# A walked row costs about this many matches read from the heap by a bitmap and sorted: its document
# read from the heap and checked, 2 (measured at 100,000 requests: 1,431 rows walked in 2 ms warm);
# computed, 10 (0023).
DOCUMENT_COST = {"stored": 2, "computed": _previous.DOCUMENT_COST}


def _branches(template: str, indent: str = "    ") -> str:
    """One IF branch a kind, each the template's statements for its table and document (stored or
    computed)."""
    def body(key: str, table: str, document: str) -> str:
        stored = key in STORED
        text = template.format(table=table, document=document, quoted=document.replace("'", "''"), tenant=TENANT,
                               cost=DOCUMENT_COST["stored" if stored else "computed"],
                               read=COLUMN if stored else document,
                               ranked=f"{table}.{COLUMN}" if stored else document)
        return "\n".join(indent + "    " + line for line in text.splitlines())
    return (f"\n{indent}ELS".join(f"IF p_kind = '{key}' THEN\n{body(key, table, document)}"
                                  for key, (table, document) in KINDS.items()) + f"\n{indent}END IF;")


# The planner's estimate of the kind's matches, from its GIN index's statistics (as 0023).
ESTIMATE = _previous.ESTIMATE
# The document (stored, or computed once a row in the subquery, which its LIMIT keeps apart),
# checked a row and ranked only when it matches.
WALK = """OPEN newest FOR SELECT walked.id, walked.created_at,
        CASE WHEN walked.document @@ query THEN ts_rank(walked.document, query) END AS rank
    FROM (SELECT id, created_at, {read} AS document
          FROM public.{table} WHERE tenant_id = tenant ORDER BY created_at DESC LIMIT budget) AS walked;"""
# The newest p_limit of the matches (found by the GIN index on the document's expression), then their
# documents ranked.
SORTED = """RETURN QUERY WITH hits AS MATERIALIZED (
    SELECT id, created_at FROM public.{table} WHERE {tenant} AND {document} @@ query
), newest AS (
    SELECT hits.id, hits.created_at FROM hits ORDER BY hits.created_at DESC, hits.id LIMIT p_limit
)
SELECT newest.id, ts_rank({ranked}, query), newest.created_at
FROM newest JOIN public.{table} ON {table}.id = newest.id
ORDER BY newest.created_at DESC, newest.id;"""

# 0023's function with the walk, the sort and the estimate replaced (no CREATE INDEX: 0023 made them).
_unchanged = _previous.FUNCTION_SQL.split("CREATE INDEX IF NOT EXISTS", 1)[0]
FUNCTION_SQL = (_unchanged
                .replace(_previous._branches(_previous.WALK, "        "), _branches(WALK, "        "))
                .replace(_previous._branches(_previous.SORTED), _branches(SORTED))
                .replace(_previous._branches(_previous.ESTIMATE, "        "), _branches(ESTIMATE, "        "))
                .replace("RETURNS TABLE (id uuid, rank real)", "RETURNS TABLE (id uuid, rank real, created_at timestamptz)")
                .replace("RETURN QUERY SELECT u.id, u.rank FROM", "RETURN QUERY SELECT u.id, u.rank, u.at FROM")
                + "ALTER FUNCTION public.mwms_search_ids(text, text, integer, integer) SET work_mem = '32MB';\n")
assert (FUNCTION_SQL.count(COLUMN) == 2 * len(STORED) and "u.at FROM" in FUNCTION_SQL
        and "created_at timestamptz)" in FUNCTION_SQL and "newest.created_at\n" in FUNCTION_SQL), \
    "0023's function was not all replaced"

COLUMNS_SQL = "".join(
    f"ALTER TABLE public.{table} ADD COLUMN IF NOT EXISTS {COLUMN} tsvector GENERATED ALWAYS AS ({document}) STORED;\n"
    for table, document in (KINDS[key] for key in STORED))

# Back to 0023's function; then the columns dropped (no rewrite).
DROP_SQL = "DROP FUNCTION IF EXISTS public.mwms_search_ids(text, text, integer, integer);\n" + _unchanged
DROP_COLUMNS_SQL = "".join(f"ALTER TABLE public.{table} DROP COLUMN IF EXISTS {COLUMN};\n"
                           for table, _document in (KINDS[key] for key in STORED))

class Migration(migrations.Migration):

    dependencies = [("governance_app", "0023_search_newest_walk")]

    operations = [postgres_only(COLUMNS_SQL, DROP_COLUMNS_SQL), postgres_only(FUNCTION_SQL, DROP_SQL)]
