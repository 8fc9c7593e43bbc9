-- Issue 9, no silent mistakes: a policy scoped to an agent that is not registered is refused
-- (policy.unknown_agent), unless it is created on purpose with allow_unknown (the CLI's
-- --allow-unknown), which stays on the row as a flag for whoever reads the policy list later:
-- a typo in `agent:reseacher` no longer makes a budget that never applies.

alter table public.actp_policies add column allow_unknown boolean not null default false;
comment on column public.actp_policies.allow_unknown is
  'Created for an agent slug that was not registered at the time (flag for review: a typo never applies).';

create or replace function public.actp_policies_check_agent()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_slug text;
begin
  -- A malformed scope is the check constraint's to refuse, with its own error.
  if new.scope like 'agent:%' and not new.allow_unknown and public.actp_policy_scope_is_valid(new.scope) then
    v_slug := substr(new.scope, 7);
    if not exists (select 1 from public.actp_agent_definitions d where d.slug = v_slug) then
      raise exception using errcode = 'P0001',
        message = format('policy.unknown_agent: no agent "%s" is registered; check the slug, or pass allow_unknown: true '
                         || '(actp policy add --allow-unknown) to keep a policy for an agent not registered yet', v_slug);
    end if;
  end if;
  return new;
end
$$;
revoke all on function public.actp_policies_check_agent() from public, anon, authenticated;

create trigger tg_actp_policies__known_agent
  before insert or update of scope, allow_unknown on public.actp_policies
  for each row execute function public.actp_policies_check_agent();
