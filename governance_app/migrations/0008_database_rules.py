"""What PostgreSQL itself enforces beyond the columns (issue 12), on PostgreSQL only:

- `mcr_update_status` becomes `approved` only when a HeadOffice MCR decision approving that very
  request (same tenant) is on record: a trigger, so a direct writer cannot skip the decision;
- the lookups that run before the tenant is known (a bearer token's row, a person's tenant, a
  tenant by slug for commands) as SECURITY DEFINER functions of the owner: row-level security hides
  every row until the claim is set, and these return only the one row asked for.

`migrate` (governance_app/management/commands/migrate.py) grants EXECUTE on the functions to the
runtime role, with the rest of the security layer.
"""

from django.db import migrations

from governance_app.migrations._postgres import postgres_only

MCR_GATE_SQL = r"""
-- mcr_update_status may become 'approved' only when a HeadOffice MCR decision approving this very
-- request (same tenant) exists. Immediate: the decision must be inserted first (same transaction is
-- fine). An AFTER (constraint) trigger, so the row's own CHECK constraints answer first. SQLSTATE 23514 check_violation + a constraint name: psycopg CheckViolation, Django IntegrityError,
-- exc.__cause__.diag.constraint_name == 'mwms_mcr_approval_requires_decision'.
CREATE OR REPLACE FUNCTION public.mwms_mcr_approval_requires_decision() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.mcr_update_status = 'approved'
       AND OLD.id = NEW.id AND OLD.tenant_id = NEW.tenant_id THEN
        RETURN NEW;  -- was already approved; decisions are append-only, nothing to re-check
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM public.mwms_decision_records d
        WHERE d.related_request_id = NEW.id
          AND d.tenant_id = NEW.tenant_id
          AND d.decision_kind = 'mcr_decision'
          AND d.mcr_decision = 'approved'
          AND d.authority = 'headoffice'
    ) THEN
        RAISE EXCEPTION 'mcr_update_status of brain request % may become approved only after a HeadOffice MCR decision approving it', NEW.id
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'mwms_mcr_approval_requires_decision',
                  TABLE = TG_TABLE_NAME, SCHEMA = TG_TABLE_SCHEMA, COLUMN = 'mcr_update_status',
                  HINT = 'Record the decision (decision_kind mcr_decision, mcr_decision approved, authority headoffice) first.';
    END IF;
    RETURN NEW;
END;
$$;
DROP TRIGGER IF EXISTS mwms_mcr_approval_requires_decision ON public.mwms_brain_requests;
CREATE CONSTRAINT TRIGGER mwms_mcr_approval_requires_decision
    AFTER INSERT OR UPDATE OF mcr_update_status, id, tenant_id ON public.mwms_brain_requests
    NOT DEFERRABLE
    FOR EACH ROW WHEN (NEW.mcr_update_status = 'approved')
    EXECUTE FUNCTION public.mwms_mcr_approval_requires_decision();
"""
MCR_GATE_REVERSE_SQL = """
DROP TRIGGER IF EXISTS mwms_mcr_approval_requires_decision ON public.mwms_brain_requests;
DROP FUNCTION IF EXISTS public.mwms_mcr_approval_requires_decision();
"""

DEFINER_FUNCTIONS_SQL = r"""
CREATE OR REPLACE FUNCTION public.mwms_token_lookup(p_token_hash text)
RETURNS TABLE (id uuid, tenant_id uuid, brain text, role text, label text, revoked boolean,
               last_used_at timestamptz, tenant_active boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.id, t.tenant_id, t.brain, t.role, t.label, t.revoked_at IS NOT NULL, t.last_used_at, o.is_active
    FROM public.mwms_api_tokens t JOIN public.mwms_tenants o ON o.id = t.tenant_id
    WHERE t.token_hash = p_token_hash
$$;
CREATE OR REPLACE FUNCTION public.mwms_user_tenant(p_user_id bigint) RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT tu.tenant_id FROM public.mwms_tenant_users tu WHERE tu.user_id = p_user_id $$;
CREATE OR REPLACE FUNCTION public.mwms_tenant_for_slug(p_slug text) RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT o.id FROM public.mwms_tenants o WHERE o.slug = p_slug $$;
REVOKE ALL ON FUNCTION public.mwms_token_lookup(text), public.mwms_user_tenant(bigint),
    public.mwms_tenant_for_slug(text) FROM PUBLIC;
"""
DEFINER_FUNCTIONS_REVERSE_SQL = """
DROP FUNCTION IF EXISTS public.mwms_token_lookup(text);
DROP FUNCTION IF EXISTS public.mwms_user_tenant(bigint);
DROP FUNCTION IF EXISTS public.mwms_tenant_for_slug(text);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("governance_app", "0007_tenants_for_real"),
        ("requests_app", "0007_tenant_matched_references"),
        ("tasks_app", "0006_tenant_matched_references"),
    ]

    operations = [
        postgres_only(MCR_GATE_SQL, MCR_GATE_REVERSE_SQL),
        postgres_only(DEFINER_FUNCTIONS_SQL, DEFINER_FUNCTIONS_REVERSE_SQL),
    ]
