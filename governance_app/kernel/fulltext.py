"""PostgreSQL full-text search: the documents the GIN indexes are built on, and the query a
search box's word makes.

A query matches an expression index only when it repeats the index's expression to the letter, so
the expression is written once, here, for the migrations' indexes (governance_app 0019), the
header search (governance_app.search) and the request list's free text (requests_app.filters).
"""

import re

CONFIG = "english"     # the text search configuration of the documents and their indexes


def document_sql(table: str, title: str, body: tuple[str, ...], *, qualify: bool = True) -> str:
    """The tsvector of a row: its title at weight A, its body columns at weight B."""
    def column(name: str) -> str:
        return f'COALESCE("{table}"."{name}", \'\')' if qualify else f"COALESCE({name}, '')"
    joined = " || ' ' || ".join(column(name) for name in body)
    return (f"(setweight(to_tsvector('{CONFIG}'::regconfig, {column(title)}), 'A') || "
            f"setweight(to_tsvector('{CONFIG}'::regconfig, {joined}), 'B'))")


def prefix_query(word: str) -> str | None:
    """A `to_tsquery` text matching documents with a word starting with each part of `word`
    ("OFF-4242" → "OFF:* & 4242:*", which the parser turns into the lexemes the documents hold);
    None when the word has no letters or digits. Only word characters pass, so nothing in it is
    read as tsquery syntax."""
    parts = re.findall(r"\w+", word)
    return " & ".join(f"{part}:*" for part in parts) if parts else None
