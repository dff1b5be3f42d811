"""What every app may import, below every app's services: who is acting (actors, tokens), how a
refusal reads (errors, text rules, refusals), the model building blocks (db, clock), the hot-path
statements (fastpath), the Brain registry cache and option lists (brains), and the form and admin
kits. Nothing here imports requests_app, tasks_app or governance_app's workflows; `db` and `clock`
import no model at all (the import-linter contract in pyproject.toml checks both)."""
