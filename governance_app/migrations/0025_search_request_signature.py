"""The header search computes a request's document only where its lexemes may be (issue 16).

Requests keep no stored document (0024: it would widen the heap the dashboard's figures read by
37%). Walking "offer" newest first, the function computed the document of every request it read,
about 1,431 of them at 100,000 requests as at a million (one request in seven matches), 55 µs each.
Each request now keeps a 256-bit signature of its document's lexemes, `search_signature bit(256)
GENERATED ALWAYS AS (mwms_search_signature(<the GIN index's expression>)) STORED` (37 bytes a row):
bit hashtext(lexeme) & 255 is set for each lexeme. A query that only joins lexemes with AND or
a phrase (what a search box sends, websearch_to_tsquery, without `or` and `-word`) matches a
document only if the document holds every lexeme, so only where the row's signature has every bit
of the query's (`mwms_search_query_signature`): the walk computes the document of those rows alone
(a row of 25 lexemes lets a one-word query through by chance about one time in eleven), then checks
and ranks it as before. So the answer is the same (the signature only skips rows that cannot match),
and "offer" computes about 320 documents instead of 1,431. A query with `or` or `-word` (its
signature NULL) is walked as before, and with the estimate's weight of a computed document.

hashtext is the hash PostgreSQL keeps stable across versions (hash indexes and hash partitions are
built on it); a signature is written with its row (and on each UPDATE of the row), like 0024's
documents, and adding the column rewrites the table once, without an UPDATE.
"""

from importlib import import_module

from django.db import migrations

from governance_app.migrations._postgres import postgres_only

_previous = import_module("governance_app.migrations.0024_search_document_column")

KINDS = _previous.KINDS
TABLE, DOCUMENT = KINDS["request"]
COLUMN = "search_signature"
BODY = ("request_title", "request_summary", "response_summary", "result_summary")
# A walked request whose signature lets the query through costs its document; the others a heap read
# and a bit test: about 3 sorted matches a row walked (10 when every document is computed).
SIGNED_COST = 3

SIGNATURE_SQL = r"""
CREATE FUNCTION public.mwms_search_signature(document tsvector) RETURNS bit(256)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$ SELECT coalesce(bit_or(B'1'::bit(256) >> (hashtext(lexeme) & 255)), B'0'::bit(256))
      FROM unnest(tsvector_to_array(document)) AS lexeme $$;

-- The bits a document must hold to match `query`; NULL when a match need not hold every lexeme of
-- the query (an OR, a NOT, a prefix or a weight: anything but lexemes, AND, phrases and brackets).
CREATE FUNCTION public.mwms_search_query_signature(query tsquery) RETURNS bit(256)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    written text := query::text;
    wanted bit(256) := B'0'::bit(256);
    lexeme text;
BEGIN
    IF written = '' OR position(E'\\' in written) > 0
            OR regexp_replace(written, '''(?:[^'']|'''')*''', '', 'g') ~ '[|!:]' THEN
        RETURN NULL;
    END IF;
    FOR lexeme IN SELECT replace(m[1], '''''', '''') FROM regexp_matches(written, '''((?:[^'']|'''')*)''', 'g') AS m
    LOOP
        wanted := wanted | (B'1'::bit(256) >> (hashtext(lexeme) & 255));
    END LOOP;
    RETURN wanted;
END;
$$;
""" + (f"ALTER TABLE public.{TABLE} ADD COLUMN IF NOT EXISTS {COLUMN} bit(256) "
       f"GENERATED ALWAYS AS (public.mwms_search_signature({DOCUMENT})) STORED;\n")

DROP_SIGNATURE_SQL = (f"ALTER TABLE public.{TABLE} DROP COLUMN IF EXISTS {COLUMN};\n"
                      "DROP FUNCTION IF EXISTS public.mwms_search_query_signature(tsquery);\n"
                      "DROP FUNCTION IF EXISTS public.mwms_search_signature(tsvector);\n")

# The request's walk: its document computed (once, in the LATERAL, which OFFSET 0 keeps apart) only
# where the signature lets the query through.
_columns = ", ".join(BODY)
WALK = f"""OPEN newest FOR SELECT walked.id, walked.created_at,
        CASE WHEN checked.document @@ query THEN ts_rank(checked.document, query) END AS rank
    FROM (SELECT id, created_at, {COLUMN}, {_columns}
          FROM public.{TABLE} WHERE tenant_id = tenant ORDER BY created_at DESC LIMIT budget) AS walked
    LEFT JOIN LATERAL (SELECT {DOCUMENT} AS document
                       WHERE wanted_bits IS NULL OR (walked.{COLUMN} & wanted_bits) = wanted_bits
                       OFFSET 0) AS checked ON true
    ORDER BY walked.created_at DESC;"""


def _request_branch(template: str, indent: str) -> str:
    """0024's branch of the request in `template`, as its _branches writes it."""
    text = template.format(table=TABLE, document=DOCUMENT, quoted=DOCUMENT.replace("'", "''"),
                           tenant=_previous.TENANT, cost=_previous.DOCUMENT_COST["computed"], read=DOCUMENT,
                           ranked=DOCUMENT)
    return "\n".join(indent + "    " + line for line in text.splitlines())


def _indented(text: str, indent: str) -> str:
    return "\n".join(indent + "    " + line for line in text.splitlines())


_estimate_cost = f"(CASE WHEN wanted_bits IS NULL THEN {_previous.DOCUMENT_COST['computed']} ELSE {SIGNED_COST} END)"
_previous_sql = _previous.FUNCTION_SQL
FUNCTION_SQL = (_previous_sql
                .replace(_request_branch(_previous.WALK, "        "), _indented(WALK, "        "))
                .replace(_request_branch(_previous.ESTIMATE, "        "),
                         _indented(_previous.ESTIMATE.format(table=TABLE, quoted=DOCUMENT.replace("'", "''"),
                                                             cost=_estimate_cost), "        "))
                .replace("    query tsquery := websearch_to_tsquery('english'::regconfig, p_query);\n",
                         "    query tsquery := websearch_to_tsquery('english'::regconfig, p_query);\n"
                         "    wanted_bits bit(256) := public.mwms_search_query_signature(query);\n"))
assert FUNCTION_SQL.count("wanted_bits") == 6 and f"walked.{COLUMN}" in FUNCTION_SQL, \
    "0024's function was not all replaced"


class Migration(migrations.Migration):

    dependencies = [("governance_app", "0024_search_document_column")]

    operations = [postgres_only(SIGNATURE_SQL, DROP_SIGNATURE_SQL),
                  postgres_only(FUNCTION_SQL, "DROP FUNCTION IF EXISTS public.mwms_search_ids(text, text, integer, integer);\n"
                                + _previous_sql)]
