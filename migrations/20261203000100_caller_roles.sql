-- The role model (DESIGN.md "Who may do what"), as one SQL helper every RLS policy and definer
-- function asks. `authenticated` is anyone who signed up to the user's app: it grants nothing by
-- itself. Operators and viewers are authenticated users with app_metadata.actp_role set, which only
-- the service role can write. The TypeScript twin is shared/auth/roles.ts.

create or replace function public.actp_caller_kind()
returns text
language sql
stable
set search_path = ''
as $$
  select case
    when coalesce(auth.role(), '') = 'service_role' then 'service_role'
    when coalesce(auth.role(), '') = 'authenticated' then
      case coalesce(auth.jwt() -> 'app_metadata' ->> 'actp_role', '')
        when 'operator' then 'operator'
        when 'viewer' then 'viewer'
        else 'user'
      end
    when coalesce(auth.role(), '') = '' and current_user not in ('anon', 'authenticated') then 'service_role'
    else 'anon'
  end
$$;
comment on function public.actp_caller_kind() is
  'service_role | operator | viewer | user | anon, from the JWT claims (auth.role(), app_metadata.actp_role). A direct database session with no JWT claims that is not an API role (workers, CLI, migrations) counts as service_role.';

create or replace function public.actp_can_read()
returns boolean
language sql
stable
set search_path = ''
as $$ select public.actp_caller_kind() in ('service_role', 'operator', 'viewer') $$;

create or replace function public.actp_can_act()
returns boolean
language sql
stable
set search_path = ''
as $$ select public.actp_caller_kind() in ('service_role', 'operator') $$;

-- The identity an action records, from the token (never from a request body): the twin of actorOf().
create or replace function public.actp_caller_actor()
returns text
language sql
stable
set search_path = ''
as $$
  select case public.actp_caller_kind()
    when 'service_role' then coalesce('service_role:' || nullif(auth.jwt() ->> 'sub', ''), 'service_role')
    else public.actp_caller_kind() || ':' || coalesce(nullif(auth.jwt() ->> 'sub', ''), 'unknown')
      || coalesce(' <' || nullif(auth.jwt() ->> 'email', '') || '>', '')
  end
$$;

-- Policies evaluate these as the querying role, so the API roles need EXECUTE; they only read the
-- caller's own claims and are not definer functions.
revoke all on function public.actp_caller_kind(), public.actp_can_read(), public.actp_can_act(), public.actp_caller_actor() from public;
grant execute on function public.actp_caller_kind(), public.actp_can_read(), public.actp_can_act(), public.actp_caller_actor()
  to anon, authenticated, service_role;
