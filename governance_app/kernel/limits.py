"""How much text and JSON each column holds: one list, table by table.

A 1,000,000-character title and a 2.4 MB summary were once accepted (issue 17). Every free-text
column now has a maximum, enforced by the database (a CHECK named `<table>_<column>_length`, and
`<table>_<column>_size` for a JSON column, generated from the lists below by kernel.db) and
checked first where input arrives: the model fields take their `max_length` from here (so the
admin's forms check it), the pages' forms and the API's schemas use the same constants, and the
services refuse what slips past them. A refusal names the field: "request_title: at most 300
characters".

The limits are characters, not bytes (PostgreSQL's and SQLite's `length()` both count characters).
A JSON column's size is its serialised text as Django writes it (`json.dumps`, non-ASCII escaped),
which is never shorter than what PostgreSQL measures of the stored jsonb.
"""

import json
from typing import Any

# --- the kinds of text -----------------------------------------------------------------------

TITLE = 300          # a request's or task's title, a document's title
TEXT = 20_000        # summaries, notes, reasons, descriptions, a canon document's charter
NAME = 200           # identifiers, slugs, types, labels and names (intake_id, task_type, a token's label)
ACTOR = 300          # who did it: a username, or "token:<label>" with a suffix ("… (via task <id>)")
LINK = 2_000         # a URL or a path (source_page, content_location)
HOST = 253           # a DNS name (a tenant's domain)
KEY = 255            # an Idempotency-Key
WORD = 64            # a lowercase snake_case word (a task's output_mode)
DOCUMENT = 100_000   # a canon document's body (the seeds are under 30,000)
HASH = 64            # a SHA-256 digest in hex (kernel.digests)
DIFF = 1_000_000     # the diff of two bodies: at most three times both, line marks included

# --- the kinds of JSON -------------------------------------------------------------------------

JSON = 100_000            # a payload a client sends (meta_json, input_payload, content_json, …)
JSON_HISTORY = 1_000_000  # a history row's copy of a change (before and after of every edited field)

TEXT_COLUMNS: dict[str, dict[str, int]] = {
    "mwms_tenants": {"slug": NAME, "name": NAME, "domain": HOST, "chain_head": HASH},
    "mwms_brains": {"slug": NAME, "name": NAME, "charter": TEXT},
    "mwms_api_tokens": {"label": NAME, "prefix": NAME, "token_hash": NAME},
    "mwms_idempotency_keys": {"key": KEY, "fingerprint": NAME},
    "mwms_refusal_windows": {"actor_key": ACTOR, "actor": ACTOR, "rule": NAME},
    "mwms_webhook_subscriptions": {"name": NAME, "url": LINK, "secret": NAME, "created_by": ACTOR},
    "mwms_webhook_deliveries": {"last_answer": TEXT},
    "mwms_notifications": {"summary": TEXT},
    "mwms_sla_policies": {"updated_by": ACTOR},
    "mwms_saved_views": {"name": NAME, "query": LINK},
    "mwms_brain_requests": {
        "requesting_authority": NAME, "request_title": TITLE, "request_summary": TEXT, "required_output": TEXT,
        "intake_id": NAME, "offer_id": NAME, "experiment_id": NAME, "source_origin": NAME, "source_page": LINK,
        "source_system": NAME, "routing_notes": TEXT, "response_summary": TEXT, "escalation_reason": TEXT,
        "closure_reason": TEXT, "created_by": ACTOR, "result_summary": TEXT, "outcome_decision": TEXT,
        "next_step": TEXT, "next_step_owner": NAME, "chain_head": HASH,
    },
    "mwms_request_events": {"event_summary": TEXT, "actor": ACTOR, "note": TEXT, "prev_hash": HASH, "row_hash": HASH},
    "mwms_signals": {"summary": TEXT, "created_by": ACTOR},
    "mwms_tasks": {
        "task_type": NAME, "assigned_employee": ACTOR, "last_error": TEXT, "title": TITLE, "execution_notes": TEXT,
        "chain_head": HASH,
    },
    "mwms_task_events": {"event_summary": TEXT, "actor": ACTOR, "prev_hash": HASH, "row_hash": HASH},
    "mwms_task_artifacts": {
        "artifact_type": NAME, "artifact_summary": TEXT, "content_location": LINK, "content_hash": NAME,
        "created_by": ACTOR,
    },
    "mwms_decision_records": {
        "decision_summary": TEXT, "reasoning": TEXT, "evidence_used": TEXT, "expected_outcome": TEXT,
        "recorded_by": ACTOR, "prev_hash": HASH, "row_hash": HASH,
    },
    "mwms_lessons_learned": {
        "event_or_experiment": TITLE, "result": TEXT, "insight": TEXT, "recommended_improvement": TEXT,
        "recorded_by": ACTOR, "row_hash": HASH,
    },
    "mwms_canon_documents": {"slug": NAME, "title": TITLE, "document_type": NAME, "version": NAME, "body": DOCUMENT,
                             "chain_head": HASH},
    "mwms_canon_amendments": {
        "version_before": NAME, "version_after": NAME, "body_before": DOCUMENT, "body_after": DOCUMENT,
        "diff": DIFF, "approved_by": ACTOR, "prev_hash": HASH, "row_hash": HASH,
    },
    "mwms_canon_proposals": {"base_version": NAME, "proposed_text": DOCUMENT, "note": TEXT, "proposed_by": ACTOR,
                             "reason": TEXT},
    "mwms_suggestion_evidence": {"added_by": ACTOR},
    "mwms_chain_checkpoints": {"prev_hash": HASH, "row_hash": HASH, "heads_digest": HASH},
    "mwms_chain_checkpoint_heads": {"chain": NAME, "chain_head": HASH},
}

# The idempotency records' stored answers are the app's own output, not input, and have no limit.
JSON_COLUMNS: dict[str, dict[str, int]] = {
    "mwms_brains": {"accepted_request_types": JSON},
    "mwms_brain_requests": {"meta_json": JSON, "supporting_brains": JSON, "outcome_evidence": JSON},
    "mwms_request_events": {"changed_fields": JSON_HISTORY, "event_payload": JSON},
    "mwms_signals": {"payload": JSON},
    "mwms_list_preferences": {"columns": LINK},
    "mwms_tasks": {"input_payload": JSON, "evidence_links": JSON},
    # A progress report's payload, or an admin edit's before and after of the task's fields.
    "mwms_task_events": {"event_payload": JSON_HISTORY},
    "mwms_task_artifacts": {"content_json": JSON},
    "mwms_decision_records": {"affected_brains": JSON},
    "mwms_canon_amendments": {"evidence": JSON},
    "mwms_canon_proposals": {"sections": JSON},
    "mwms_canon_documents": {"governs": JSON, "request_types": JSON},
    "mwms_webhook_subscriptions": {"event_types": JSON},
    "mwms_webhook_deliveries": {"payload": JSON},
}


def columns(table: str) -> dict[str, int]:
    """The text limits of one table's columns (a KeyError for a table with none listed)."""
    return TEXT_COLUMNS[table]


# --- what cannot be stored -------------------------------------------------------------------

def unstorable_text(value: str) -> str | None:
    """Why the database could not store this text (PostgreSQL refuses NUL in text and jsonb, and
    psycopg any lone surrogate), or None."""
    if "\x00" in value:
        return "must not contain the NUL character (\\u0000)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text (no lone surrogates)"
    return None


def unstorable_json(value: Any) -> str | None:
    """Why the database could not store this JSON value (a key or string it holds is
    unstorable_text), or None."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend([*item.keys(), *item.values()])
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, str):
            problem = unstorable_text(item)
            if problem:
                return problem
    return None


def too_long(value: str, limit: int) -> str | None:
    """"at most N characters (this has M)", or None when the text fits."""
    if len(value) <= limit:
        return None
    return f"at most {limit:,} characters (this has {len(value):,})"


def json_size(value: Any) -> int:
    """The characters a JSON value takes as Django stores it (what the size CHECK measures)."""
    return len(json.dumps(value))


def too_large(value: Any, limit: int = JSON) -> str | None:
    """"at most N characters as JSON (this is M)", or None when the value fits."""
    size = json_size(value)
    if size <= limit:
        return None
    return f"at most {limit:,} characters as JSON (this is {size:,})"


def clip(text: str, limit: int) -> str:
    """Text the app composes (an event's summary quoting what was sent), cut to fit with an ellipsis."""
    return text if len(text) <= limit else text[:limit - 1] + "…"
