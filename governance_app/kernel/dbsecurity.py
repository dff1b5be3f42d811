"""The PostgreSQL security layer: runtime grants, tenant row-level security, TRUNCATE guards.

Everything here takes a DB-API cursor (a Django cursor or a raw psycopg 3 cursor) connected AS THE
OWNER of the tables, and is idempotent: run it after every `migrate`.

    apply_security(cursor, owner_role="mwms_owner", runtime_role="mwms_app",
                   tables_by_kind=settings.MWMS_DB_TABLE_KINDS)

Nothing here is Django-specific, so the SQL proof scripts use exactly the same code.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Iterable, Mapping

CLAIM_SETTING = "request.jwt.claims"
VERSION = "mwms-rls-v2"

# What the runtime role may do to a table of each kind. No kind gets TRUNCATE, TRIGGER, REFERENCES.
KIND_PRIVILEGES: dict[str, tuple[str, ...]] = {
    "append_only": ("SELECT", "INSERT"),            # history: events, decisions, amendments
    "lineage": ("SELECT", "INSERT", "UPDATE"),      # requests, tasks, artifacts, lessons, ...: never deleted
    "mutable": ("SELECT", "INSERT", "UPDATE", "DELETE"),  # sessions, axes, auth m2m, memberships, tokens
    "read_only": ("SELECT",),                       # django_migrations, reference data
    "none": (),                                     # invisible to the app
}

# The tenant the current transaction acts for, or NULL. nullif() because after a transaction-local
# set_config() ends, current_setting(..., true) returns '' (not NULL), and ''::jsonb is an error.
# A plain (not SECURITY DEFINER, no SET clause) STABLE SQL function, so the planner inlines it.
CLAIM_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION public.mwms_claim_tenant() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT (nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'tenant_id')::uuid $$;
COMMENT ON FUNCTION public.mwms_claim_tenant() IS 'tenant_id of the request.jwt.claims claim, NULL without one';
GRANT EXECUTE ON FUNCTION public.mwms_claim_tenant() TO PUBLIC;
CREATE OR REPLACE FUNCTION public.mwms_claim_every_tenant() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT coalesce(nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'mwms_scope'
                      = 'installation', false) $$;
COMMENT ON FUNCTION public.mwms_claim_every_tenant() IS
    'true when the claim says mwms_scope installation: an installation superuser in the Django admin';
GRANT EXECUTE ON FUNCTION public.mwms_claim_every_tenant() TO PUBLIC;
"""

# Refuses TRUNCATE of a history table to everybody, the owner included. Only the test flush
# (owner_flush_statements) disables it, inside the same transaction as its TRUNCATE.
TRUNCATE_GUARD_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION public.mwms_refuse_truncate() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'mwms: % is append-only: TRUNCATE is refused', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'History is never deleted. Tests flush through the owner test flush.';
END;
$$;
"""
TRUNCATE_GUARD = "mwms_truncate_guard"


def qi(name: str) -> str:
    """Quote an identifier (table, role, policy name)."""
    return '"' + name.replace('"', '""') + '"'


def _digest(*parts: str) -> str:
    return VERSION + ":" + hashlib.sha1("\x00".join(parts).encode()).hexdigest()[:12]


# ---------------------------------------------------------------------------------------------
# introspection


def tables_in_schema(cursor, schema: str = "public") -> list[str]:
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY 1",
        [schema],
    )
    return [row[0] for row in cursor.fetchall()]


def tables_with_column(cursor, column: str = "tenant_id", schema: str = "public") -> list[str]:
    cursor.execute(
        "SELECT c.table_name FROM information_schema.columns c "
        "JOIN information_schema.tables t USING (table_schema, table_name) "
        "WHERE c.table_schema = %s AND c.column_name = %s AND t.table_type = 'BASE TABLE' ORDER BY 1",
        [schema, column],
    )
    return [row[0] for row in cursor.fetchall()]


def classify(tables: Iterable[str], tables_by_kind: Mapping[str, Iterable[str]],
             default_kind: str | None = None) -> dict[str, str]:
    """table -> kind. Exact names win over fnmatch patterns ("axes_*"); an unclassified table is an
    error unless default_kind is given, so a new table cannot silently get write access."""
    exact, patterns = {}, []
    for kind, names in tables_by_kind.items():
        if kind not in KIND_PRIVILEGES:
            raise ValueError(f"unknown table kind {kind!r}; use one of {sorted(KIND_PRIVILEGES)}")
        for name in names:
            if any(ch in name for ch in "*?["):
                patterns.append((name, kind))
            elif exact.setdefault(name, kind) != kind:
                raise ValueError(f"{name} is classified twice ({exact[name]}, {kind})")
    result, missing = {}, []
    for table in tables:
        kind = exact.get(table) or next((k for p, k in patterns if fnmatch.fnmatchcase(table, p)), None)
        kind = kind or default_kind
        if kind is None:
            missing.append(table)
        else:
            result[table] = kind
    if missing:
        raise ValueError("tables with no runtime privilege kind (add them to MWMS_DB_TABLE_KINDS): "
                         + ", ".join(missing))
    return result


# ---------------------------------------------------------------------------------------------
# grants


def grant_runtime(cursor, runtime_role: str, tables_by_kind: Mapping[str, Iterable[str]], *,
                  schema: str = "public", default_kind: str | None = None,
                  definer_functions: Iterable[str] = (), lock_database: bool = True) -> dict[str, str]:
    """Give runtime_role exactly the privileges of each table's kind, and nothing else.

    Revokes everything first (so a privilege removed from the map is really removed), then grants.
    Sequences: USAGE, SELECT (nextval/currval; serial columns need it, identity columns do not).
    No UPDATE on sequences: setval() is an owner operation. Returns the table -> kind map applied.
    """
    role, sch = qi(runtime_role), qi(schema)
    kinds = classify(tables_in_schema(cursor, schema), tables_by_kind, default_kind)
    cursor.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {sch} FROM PUBLIC, {role}")
    cursor.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {sch} FROM PUBLIC, {role}")
    for table, kind in kinds.items():
        privileges = KIND_PRIVILEGES[kind]
        if privileges:
            cursor.execute(f"GRANT {', '.join(privileges)} ON TABLE {sch}.{qi(table)} TO {role}")
    cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {sch} TO {role}")
    cursor.execute(f"GRANT USAGE ON SCHEMA {sch} TO {role}")
    # PG15 no longer lets PUBLIC create in public; say so anyway (older clusters, restored dumps).
    cursor.execute(f"REVOKE CREATE ON SCHEMA {sch} FROM PUBLIC, {role}")
    # The database: CONNECT only. No TEMP (a temp table shadows a table name in pg_temp, which is
    # searched first for relations), no CREATE (schemas). lock_database=False on Supabase, whose own
    # roles (authenticator, anon, ...) connect through PUBLIC's CONNECT.
    cursor.execute("SELECT current_database()")
    database = qi(cursor.fetchone()[0])
    if lock_database:
        cursor.execute(f"REVOKE ALL ON DATABASE {database} FROM PUBLIC, {role}")
        cursor.execute(f"GRANT CONNECT ON DATABASE {database} TO {role}")
    else:
        cursor.execute(f"REVOKE CREATE, TEMPORARY ON DATABASE {database} FROM {role}")
    for signature in definer_functions:
        cursor.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        cursor.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {role}")
    return kinds


# ---------------------------------------------------------------------------------------------
# row-level security


def _set_policy(cursor, table: str, name: str, sql: str, *, schema: str) -> bool:
    """Create (or replace) a policy whose definition is `sql`. Skips it when the policy already
    carries this definition's digest, so a routine migrate takes no ACCESS EXCLUSIVE lock."""
    digest = _digest(table, name, sql)
    cursor.execute(
        "SELECT obj_description(p.oid, 'pg_policy') FROM pg_policy p "
        "JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND p.polname = %s",
        [schema, table, name],
    )
    row = cursor.fetchone()
    if row and row[0] == digest:
        return False
    target = f"{qi(schema)}.{qi(table)}"
    cursor.execute(f"DROP POLICY IF EXISTS {qi(name)} ON {target}")  # CREATE POLICY IF NOT EXISTS does not exist
    cursor.execute(sql)
    cursor.execute(f"COMMENT ON POLICY {qi(name)} ON {target} IS '{digest}'")
    return True


def enable_tenant_rls(cursor, table: str, owner_role: str, *, column: str = "tenant_id",
                      schema: str = "public") -> bool:
    """ENABLE + FORCE RLS; rows visible and writable only for the claim's tenant; the owner (migrations,
    SECURITY DEFINER functions it owns) sees everything. With no claim: nothing visible, nothing
    writable (NULL = x is never true)."""
    target = f"{qi(schema)}.{qi(table)}"
    cursor.execute(
        "SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE oid = %s::regclass", [target])
    changed = not cursor.fetchone()[0]
    if changed:
        cursor.execute(f"ALTER TABLE {target} ENABLE ROW LEVEL SECURITY")
        cursor.execute(f"ALTER TABLE {target} FORCE ROW LEVEL SECURITY")
    # (SELECT f()) is an InitPlan: evaluated once per statement even where the qual is a row filter.
    # An installation superuser in the Django admin acts with mwms_scope "installation" and sees
    # every tenant; nothing else the app does sets it, and a Supabase JWT carries it only if its
    # issuer puts it there.
    match = f"({qi(column)} = (SELECT public.mwms_claim_tenant()) OR (SELECT public.mwms_claim_every_tenant()))"
    changed |= _set_policy(cursor, table, "mwms_tenant_isolation",
                           f"CREATE POLICY mwms_tenant_isolation ON {target} AS PERMISSIVE FOR ALL TO PUBLIC "
                           f"USING ({match}) WITH CHECK ({match})", schema=schema)
    changed |= _set_policy(cursor, table, "mwms_owner_all",
                           f"CREATE POLICY mwms_owner_all ON {target} AS PERMISSIVE FOR ALL TO {qi(owner_role)} "
                           f"USING (true) WITH CHECK (true)", schema=schema)
    return changed


def foreign_policies(cursor, tables: Iterable[str], schema: str = "public") -> list[tuple[str, str]]:
    """Policies on tenant tables that this module did not create. A stray permissive policy is ORed
    with ours and can open a table: report them."""
    cursor.execute(
        "SELECT tablename, policyname FROM pg_policies WHERE schemaname = %s AND tablename = ANY(%s) "
        "AND policyname NOT IN ('mwms_tenant_isolation', 'mwms_owner_all') ORDER BY 1, 2",
        [schema, list(tables)],
    )
    return list(cursor.fetchall())


# ---------------------------------------------------------------------------------------------
# TRUNCATE guard


def install_truncate_guard(cursor, table: str, schema: str = "public") -> bool:
    """Create the guard if missing, re-enable it if someone disabled it. True if anything changed."""
    target = f"{qi(schema)}.{qi(table)}"
    cursor.execute("SELECT tgenabled FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = %s",
                   [target, TRUNCATE_GUARD])
    row = cursor.fetchone()
    if row is None:
        cursor.execute(f"CREATE TRIGGER {TRUNCATE_GUARD} BEFORE TRUNCATE ON {target} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION public.mwms_refuse_truncate()")
        return True
    if row[0] != "O":
        cursor.execute(f"ALTER TABLE {target} ENABLE TRIGGER {TRUNCATE_GUARD}")
        return True
    return False


def guarded_tables(cursor, schema: str = "public") -> list[str]:
    cursor.execute(
        "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND t.tgname = %s ORDER BY 1",
        [schema, TRUNCATE_GUARD],
    )
    return [row[0] for row in cursor.fetchall()]


def owner_flush_statements(truncate_sql: list[str], guarded: Iterable[str], schema: str = "public") -> list[str]:
    """Test-only flush, to run AS THE OWNER IN ONE TRANSACTION: lift the guards, TRUNCATE, restore.
    ALTER TABLE ... DISABLE TRIGGER is transactional, so a failure anywhere leaves the guards on, and
    its ACCESS EXCLUSIVE lock means no other session ever sees them off."""
    guarded = [f"{qi(schema)}.{qi(t)}" for t in guarded]
    return ([f"ALTER TABLE {t} DISABLE TRIGGER {TRUNCATE_GUARD}" for t in guarded]
            + list(truncate_sql)
            + [f"ALTER TABLE {t} ENABLE TRIGGER {TRUNCATE_GUARD}" for t in guarded])


# ---------------------------------------------------------------------------------------------
# checks on the roles


def check_roles(cursor, owner_role: str, runtime_role: str) -> list[str]:
    """What is wrong with the runtime role, as sentences (empty: fine)."""
    problems = []
    cursor.execute("SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = %s",
                   [runtime_role])
    row = cursor.fetchone()
    if row is None:
        return [f"role {runtime_role} does not exist"]
    for flag, name in zip(row, ("SUPERUSER", "BYPASSRLS", "CREATEROLE", "CREATEDB")):
        if flag:
            problems.append(f"{runtime_role} has {name}")
    cursor.execute("SELECT pg_has_role(%s, %s, 'USAGE') OR pg_has_role(%s, %s, 'MEMBER')",
                   [runtime_role, owner_role, runtime_role, owner_role])
    if cursor.fetchone()[0]:
        problems.append(f"{runtime_role} is a member of {owner_role}")
    cursor.execute(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relowner = (SELECT oid FROM pg_roles WHERE rolname = %s) AND n.nspname NOT LIKE 'pg\\_%%' "
        "AND n.nspname <> 'information_schema'", [runtime_role])
    if cursor.fetchone()[0]:
        problems.append(f"{runtime_role} owns relations")
    cursor.execute("SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")
    if cursor.fetchone()[0] == runtime_role:
        problems.append(f"{runtime_role} owns the database")
    return problems


# ---------------------------------------------------------------------------------------------
# all of it


def apply_security(cursor, *, owner_role: str, runtime_role: str,
                   tables_by_kind: Mapping[str, Iterable[str]], schema: str = "public",
                   tenant_column: str = "tenant_id", tenants_table: str | None = "mwms_tenants",
                   default_kind: str | None = None, definer_functions: Iterable[str] = (),
                   lock_database: bool = True) -> dict:
    """Run after migrations, as the owner, in one transaction."""
    problems = check_roles(cursor, owner_role, runtime_role)
    if problems:
        raise RuntimeError("unsafe runtime role: " + "; ".join(problems))
    cursor.execute(CLAIM_FUNCTION_SQL)
    cursor.execute(TRUNCATE_GUARD_FUNCTION_SQL)
    kinds = grant_runtime(cursor, runtime_role, tables_by_kind, schema=schema,
                          default_kind=default_kind, definer_functions=definer_functions,
                          lock_database=lock_database)
    tenant_tables = tables_with_column(cursor, tenant_column, schema)
    changed = [t for t in tenant_tables if enable_tenant_rls(cursor, t, owner_role, column=tenant_column, schema=schema)]
    if tenants_table and tenants_table in kinds and tenants_table not in tenant_tables:
        if enable_tenant_rls(cursor, tenants_table, owner_role, column="id", schema=schema):
            changed.append(tenants_table)
    for table, kind in kinds.items():
        if kind == "append_only":
            install_truncate_guard(cursor, table, schema)
    rls_tables = tenant_tables + ([tenants_table] if tenants_table in kinds else [])
    return {"kinds": kinds, "rls_tables": rls_tables, "policies_changed": changed,
            "foreign_policies": foreign_policies(cursor, rls_tables, schema)}
