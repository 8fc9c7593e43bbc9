-- The error catalog in the database (issue 9, item 8). shared/errors/catalog.ts declares every code
-- actp raises with its HTTP status; scripts/gen-error-codes.ts writes its rows into later
-- `*_error_codes*.sql` migrations, with actp_error_http_status(code) redefined over the whole catalog.
-- plpgsql raises through actp_raise, which refuses a code that is not in the catalog, so an
-- undeclared code cannot reach a caller. A test scans the source of every actp
-- function for codes raised the older way (a literal 'code: ...' message) and fails on any not here.

create table public.actp_error_codes (
  code text primary key check (code ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$' and length(code) <= 100),
  http_status smallint not null check (http_status between 400 and 599),
  description text not null check (length(description) between 1 and 500)
);

comment on table public.actp_error_codes is
  'Every error code actp raises, with its HTTP status; generated from shared/errors/catalog.ts. actp_raise refuses codes not listed here.';

select public.actp_secure_table('actp_error_codes', 'read');

-- The HTTP status of a code, or null for a code not in the catalog. Every error-code migration
-- redefines it with the whole catalog (scripts/gen-error-codes.ts): a pure function, so actp_raise
-- needs neither a read of actp_error_codes (which RLS keeps from plain users) nor SECURITY DEFINER.
create or replace function public.actp_error_http_status(p_code text)
returns smallint
language sql
immutable
parallel safe
set search_path = ''
as $$ select null::smallint $$;

-- Raises P0001 with the message '<code>: <message>' (the form fromPgError reads), after checking the
-- code against the catalog.
create or replace function public.actp_raise(p_code text, p_message text, p_detail text default null)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if public.actp_error_http_status(p_code) is null then
    raise exception using
      errcode = 'P0001',
      message = format('actp.unknown_error_code: "%s" is not in the error catalog (shared/errors/catalog.ts); it was raised with: %s',
                       coalesce(p_code, 'null'), coalesce(p_message, ''));
  end if;
  raise exception using
    errcode = 'P0001',
    message = p_code || ': ' || coalesce(p_message, ''),
    detail = coalesce(p_detail, '');
end
$$;

comment on function public.actp_raise(text, text, text) is
  'Raises P0001 "<code>: <message>" for a code of the error catalog; an unknown code raises actp.unknown_error_code instead.';

-- Raising an error discloses nothing, and security-invoker functions that authenticated readers call
-- must be able to raise their 4xx: service_role and authenticated may execute both; anon gets nothing.
revoke all on function public.actp_error_http_status(text) from public, anon, authenticated;
grant execute on function public.actp_error_http_status(text) to service_role, authenticated;
revoke all on function public.actp_raise(text, text, text) from public, anon, authenticated;
grant execute on function public.actp_raise(text, text, text) to service_role, authenticated;
