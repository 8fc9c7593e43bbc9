-- Agent registry (PRD §4.1): what a valid definition is, how a registration is synced (one
-- statement, safe when several workers register the same agents at once), and enable/disable.
-- Registry changes have no canonical event type in §4.5, so nothing here emits; the version rows
-- are the audit trail.
-- Forward-only: never edit this file once it has landed; add a new migration instead.

-- The permission tiers a capability may ask for, least to most powerful. shared/agents/contracts.ts
-- holds the same list (CAPABILITY_TIERS); a db test keeps the two equal.
create or replace function public.actp_agents_capability_tiers()
returns text[]
language sql
immutable
set search_path = ''
as $$
  select array['read', 'write', 'network_write', 'system_admin']
$$;

-- Each *_problem function names what is wrong with a value, or returns null when it is valid: the
-- registration reports the message, the table's check constraint uses "is null", so the rule lives once.

create or replace function public.actp_agents_capabilities_problem(p jsonb)
returns text
language plpgsql
immutable
set search_path = ''
as $$
declare
  e jsonb;
  i int := 0;
  seen text[] := '{}'::text[];
begin
  if p is null or jsonb_typeof(p) <> 'array' then
    return 'capabilities must be an array of { tool, tier }';
  end if;
  for e in select value from jsonb_array_elements(p) loop
    if jsonb_typeof(e) <> 'object' then
      return format('capabilities[%s] must be an object { tool, tier }', i);
    end if;
    if exists (select 1 from jsonb_object_keys(e) k where k not in ('tool', 'tier')) then
      return format('capabilities[%s] has keys other than tool and tier', i);
    end if;
    if jsonb_typeof(e -> 'tool') is distinct from 'string'
       or (e ->> 'tool') !~ '^([A-Za-z][A-Za-z0-9_.:/-]{0,199}(\.\*|:\*)?|\*)$' then
      return format('capabilities[%s].tool must be a tool name like "web.fetch"', i);
    end if;
    if jsonb_typeof(e -> 'tier') is distinct from 'string'
       or not ((e ->> 'tier') = any (public.actp_agents_capability_tiers())) then
      return format('capabilities[%s].tier must be one of %s', i,
                    array_to_string(public.actp_agents_capability_tiers(), ', '));
    end if;
    -- One tier per tool: two entries for the same tool would make the grant ambiguous.
    if (e ->> 'tool') = any (seen) then
      return format('capabilities[%s]: tool "%s" is listed twice', i, e ->> 'tool');
    end if;
    seen := seen || (e ->> 'tool');
    i := i + 1;
  end loop;
  return null;
end
$$;

create or replace function public.actp_agents_model_policy_problem(p jsonb)
returns text
language plpgsql
immutable
set search_path = ''
as $$
declare
  k text;
begin
  if p is null or jsonb_typeof(p) <> 'object' then
    return 'model_policy must be an object { default_model?, fallback?, max_cost_usd? }';
  end if;
  for k in select jsonb_object_keys(p) loop
    if k not in ('default_model', 'fallback', 'max_cost_usd') then
      return format('model_policy.%s is not a known key (default_model, fallback, max_cost_usd)', k);
    end if;
  end loop;
  foreach k in array array['default_model', 'fallback'] loop
    if p ? k and (jsonb_typeof(p -> k) <> 'string' or length(p ->> k) not between 1 and 200) then
      return format('model_policy.%s must be a model name (1 to 200 characters)', k);
    end if;
  end loop;
  if p ? 'max_cost_usd' and (jsonb_typeof(p -> 'max_cost_usd') <> 'number' or (p ->> 'max_cost_usd')::numeric < 0) then
    return 'model_policy.max_cost_usd must be a number >= 0';
  end if;
  return null;
end
$$;

create or replace function public.actp_agents_namespaces_problem(field text, p jsonb)
returns text
language plpgsql
immutable
set search_path = ''
as $$
declare
  e jsonb;
  i int := 0;
begin
  if p is null or jsonb_typeof(p) <> 'array' then
    return format('%s must be an array of memory namespaces', field);
  end if;
  for e in select value from jsonb_array_elements(p) loop
    if jsonb_typeof(e) <> 'string' or (e #>> '{}') !~ '^[A-Za-z0-9][A-Za-z0-9_.:/*-]{0,199}$' then
      return format('%s[%s] must be a memory namespace like "research/findings"', field, i);
    end if;
    i := i + 1;
  end loop;
  return null;
end
$$;

alter table public.actp_agent_definitions
  add constraint actp_agent_definitions_capabilities_valid
    check (public.actp_agents_capabilities_problem(capabilities) is null),
  add constraint actp_agent_definitions_model_policy_valid
    check (public.actp_agents_model_policy_problem(model_policy) is null),
  add constraint actp_agent_definitions_memory_read_valid
    check (public.actp_agents_namespaces_problem('memory_read', to_jsonb(memory_read)) is null),
  add constraint actp_agent_definitions_memory_write_valid
    check (public.actp_agents_namespaces_problem('memory_write', to_jsonb(memory_write)) is null),
  add constraint actp_agent_definitions_definition_hash_valid
    check (definition_hash ~ '^[0-9a-f]{64}$');

-- Validates a registration payload and returns its canonical form: every field present, defaults
-- filled in, capabilities sorted by tool, namespaces sorted and deduplicated. The hash is taken of
-- this form, so the order in which an author lists things never makes a new version.
create or replace function public.actp_agents_canonical_definition(p jsonb)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
declare
  k text;
  problem text;
  v_caps jsonb;
  v_policy jsonb;
  v_read jsonb;
  v_write jsonb;
begin
  if p is null or jsonb_typeof(p) <> 'object' then
    raise exception using errcode = 'P0001', message = 'agents.invalid_definition: a definition must be a JSON object';
  end if;
  for k in select jsonb_object_keys(p) loop
    if k not in ('slug', 'description', 'input_schema', 'capabilities', 'memory_read', 'memory_write', 'model_policy') then
      raise exception using errcode = 'P0001', message = format('agents.invalid_definition: unknown field "%s"', k);
    end if;
  end loop;
  if jsonb_typeof(p -> 'slug') is distinct from 'string' or (p ->> 'slug') !~ '^[a-z][a-z0-9_-]{0,62}$' then
    raise exception using errcode = 'P0001',
      message = 'agents.invalid_definition: slug must match ^[a-z][a-z0-9_-]{0,62}$';
  end if;
  if p ? 'description' and (jsonb_typeof(p -> 'description') <> 'string' or length(p ->> 'description') > 2000) then
    raise exception using errcode = 'P0001', message = 'agents.invalid_definition: description must be a string of at most 2000 characters';
  end if;
  if p ? 'input_schema' and jsonb_typeof(p -> 'input_schema') <> 'object' then
    raise exception using errcode = 'P0001', message = 'agents.invalid_definition: input_schema must be a JSON Schema object';
  end if;

  v_caps := coalesce(p -> 'capabilities', '[]'::jsonb);
  v_policy := coalesce(p -> 'model_policy', '{}'::jsonb);
  v_read := coalesce(p -> 'memory_read', '[]'::jsonb);
  v_write := coalesce(p -> 'memory_write', '[]'::jsonb);
  problem := coalesce(
    public.actp_agents_capabilities_problem(v_caps),
    public.actp_agents_model_policy_problem(v_policy),
    public.actp_agents_namespaces_problem('memory_read', v_read),
    public.actp_agents_namespaces_problem('memory_write', v_write));
  if problem is not null then
    raise exception using errcode = 'P0001', message = 'agents.invalid_definition: ' || problem;
  end if;

  -- 1 and 1.0 are the same budget: numbers are compared without trailing zeros.
  if v_policy ? 'max_cost_usd' then
    v_policy := jsonb_set(v_policy, '{max_cost_usd}', to_jsonb(trim_scale((v_policy ->> 'max_cost_usd')::numeric)));
  end if;

  return jsonb_build_object(
    'slug', p ->> 'slug',
    'description', coalesce(p ->> 'description', ''),
    'input_schema', coalesce(p -> 'input_schema', '{}'::jsonb),
    'capabilities', (
      select coalesce(jsonb_agg(jsonb_build_object('tool', e ->> 'tool', 'tier', e ->> 'tier')
                                order by (e ->> 'tool') collate "C"), '[]'::jsonb)
        from jsonb_array_elements(v_caps) e),
    'memory_read', (
      select coalesce(jsonb_agg(n order by n collate "C"), '[]'::jsonb)
        from (select distinct value as n from jsonb_array_elements_text(v_read)) s),
    'memory_write', (
      select coalesce(jsonb_agg(n order by n collate "C"), '[]'::jsonb)
        from (select distinct value as n from jsonb_array_elements_text(v_write)) s),
    'model_policy', v_policy);
end
$$;

-- sha256 of the canonical definition's jsonb text: jsonb orders keys and normalises whitespace, so
-- the text is the same for the same definition whatever JSON it came from.
create or replace function public.actp_agents_definition_hash(p_canonical jsonb)
returns text
language sql
immutable
set search_path = ''
as $$
  select encode(sha256(convert_to(p_canonical::text, 'UTF8')), 'hex')
$$;

-- The generated changelog: a person-readable summary of the difference between two canonical
-- definitions, e.g. "capabilities: +web.fetch(read), -shell(system_admin); description changed;
-- model_policy.max_cost_usd 0.5 → 1".
create or replace function public.actp_agents_describe_changes(p_old jsonb, p_new jsonb)
returns text
language plpgsql
immutable
set search_path = ''
as $$
declare
  parts text[] := '{}'::text[];
  part text;
  field text;
begin
  with o as (select e ->> 'tool' as tool, e ->> 'tier' as tier from jsonb_array_elements(coalesce(p_old -> 'capabilities', '[]')) e),
       n as (select e ->> 'tool' as tool, e ->> 'tier' as tier from jsonb_array_elements(coalesce(p_new -> 'capabilities', '[]')) e),
       d as (
         select 0 as ord, n.tool, format('+%s(%s)', n.tool, n.tier) as item
           from n where not exists (select 1 from o where o.tool = n.tool)
         union all
         select 1, o.tool, format('-%s(%s)', o.tool, o.tier)
           from o where not exists (select 1 from n where n.tool = o.tool)
         union all
         select 2, n.tool, format('%s(%s → %s)', n.tool, o.tier, n.tier)
           from n join o on o.tool = n.tool where o.tier <> n.tier)
  select string_agg(item, ', ' order by ord, tool collate "C") into part from d;
  if part is not null then
    parts := parts || ('capabilities: ' || part);
  end if;

  if (p_old ->> 'description') is distinct from (p_new ->> 'description') then
    parts := parts || 'description changed'::text;
  end if;

  foreach field in array array['memory_read', 'memory_write'] loop
    with o as (select value as ns from jsonb_array_elements_text(coalesce(p_old -> field, '[]'))),
         n as (select value as ns from jsonb_array_elements_text(coalesce(p_new -> field, '[]'))),
         d as (
           select 0 as ord, ns, '+' || ns as item from n where ns not in (select ns from o)
           union all
           select 1, ns, '-' || ns from o where ns not in (select ns from n))
    select string_agg(item, ', ' order by ord, ns collate "C") into part from d;
    if part is not null then
      parts := parts || (field || ': ' || part);
    end if;
  end loop;

  for part in
    select format('model_policy.%s %s → %s', k,
                  coalesce(p_old -> 'model_policy' ->> k, 'none'),
                  coalesce(p_new -> 'model_policy' ->> k, 'none'))
      from (select jsonb_object_keys(coalesce(p_old -> 'model_policy', '{}')) as k
            union
            select jsonb_object_keys(coalesce(p_new -> 'model_policy', '{}'))) keys
     where (p_old -> 'model_policy' -> k) is distinct from (p_new -> 'model_policy' -> k)
     order by k collate "C"
  loop
    parts := parts || part;
  end loop;

  if (p_old -> 'input_schema') is distinct from (p_new -> 'input_schema') then
    parts := parts || 'input_schema changed'::text;
  end if;

  if cardinality(parts) = 0 then
    return 'definition changed';
  end if;
  return left(array_to_string(parts, '; '), 5000);
end
$$;

-- Registration sync, one round trip. An unchanged definition reads one row and writes nothing (no
-- update, no version row, no updated_at). A new agent is version 1 "initial registration"; a changed
-- one becomes version+1 with its full snapshot and a changelog (the caller's, or a generated one).
-- Several workers registering at once: the insert's unique slug and the row lock order them, and
-- the hash is compared again under the lock, so one change makes exactly one version.
create or replace function public.actp_agents_register(p_definition jsonb, p_changelog text default null)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_def jsonb := public.actp_agents_canonical_definition(p_definition);
  v_hash text := public.actp_agents_definition_hash(v_def);
  v_slug text := v_def ->> 'slug';
  v_row public.actp_agent_definitions%rowtype;
  v_changelog text;
  v_version int;
begin
  if p_changelog is not null and (length(btrim(p_changelog)) = 0 or length(p_changelog) > 5000) then
    raise exception using errcode = 'P0001',
      message = 'agents.invalid_changelog: a changelog must have 1 to 5000 characters';
  end if;

  -- The usual case (a worker starting with agents it registered before): no lock, no write.
  select * into v_row from public.actp_agent_definitions where slug = v_slug;
  if found and v_row.definition_hash = v_hash then
    return jsonb_build_object('slug', v_slug, 'version', v_row.version, 'changed', false, 'changelog', null);
  end if;

  if not found then
    insert into public.actp_agent_definitions
      (slug, version, description, capabilities, memory_read, memory_write, model_policy, input_schema, definition_hash)
    values
      (v_slug, 1, v_def ->> 'description', v_def -> 'capabilities',
       array(select jsonb_array_elements_text(v_def -> 'memory_read')),
       array(select jsonb_array_elements_text(v_def -> 'memory_write')),
       v_def -> 'model_policy', v_def -> 'input_schema', v_hash)
    on conflict (slug) do nothing
    returning * into v_row;
    if found then
      v_changelog := coalesce(p_changelog, 'initial registration');
      insert into public.actp_agent_versions (agent_id, version, changelog, snapshot)
      values (v_row.id, 1, v_changelog, v_def || jsonb_build_object('version', 1, 'definition_hash', v_hash));
      return jsonb_build_object('slug', v_slug, 'version', 1, 'changed', true, 'changelog', v_changelog);
    end if;
    -- Lost the race to insert: the winner has committed; fall through and compare with its row.
  end if;

  select * into v_row from public.actp_agent_definitions where slug = v_slug for update;
  if v_row.definition_hash = v_hash then
    return jsonb_build_object('slug', v_slug, 'version', v_row.version, 'changed', false, 'changelog', null);
  end if;

  v_version := v_row.version + 1;
  v_changelog := coalesce(p_changelog, public.actp_agents_describe_changes(
    jsonb_build_object(
      'slug', v_row.slug, 'description', v_row.description, 'input_schema', v_row.input_schema,
      'capabilities', v_row.capabilities, 'memory_read', to_jsonb(v_row.memory_read),
      'memory_write', to_jsonb(v_row.memory_write), 'model_policy', v_row.model_policy),
    v_def));

  update public.actp_agent_definitions
     set version = v_version,
         description = v_def ->> 'description',
         capabilities = v_def -> 'capabilities',
         memory_read = array(select jsonb_array_elements_text(v_def -> 'memory_read')),
         memory_write = array(select jsonb_array_elements_text(v_def -> 'memory_write')),
         model_policy = v_def -> 'model_policy',
         input_schema = v_def -> 'input_schema',
         definition_hash = v_hash
   where id = v_row.id;
  insert into public.actp_agent_versions (agent_id, version, changelog, snapshot)
  values (v_row.id, v_version, v_changelog, v_def || jsonb_build_object('version', v_version, 'definition_hash', v_hash));
  return jsonb_build_object('slug', v_slug, 'version', v_version, 'changed', true, 'changelog', v_changelog);
end
$$;

-- Enabling or disabling is an operator's decision, not a new definition: no version is made, and
-- setting the state an agent already has writes nothing.
create or replace function public.actp_agents_set_enabled(p_slug text, p_enabled boolean)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_version int;
begin
  if p_enabled is null then
    raise exception using errcode = 'P0001', message = 'agents.invalid_request: enabled must be true or false';
  end if;
  update public.actp_agent_definitions
     set enabled = p_enabled
   where slug = p_slug and enabled is distinct from p_enabled
  returning version into v_version;
  if found then
    return jsonb_build_object('slug', p_slug, 'enabled', p_enabled, 'version', v_version, 'changed', true);
  end if;
  select version into v_version from public.actp_agent_definitions where slug = p_slug;
  if not found then
    raise exception using errcode = 'P0001', message = format('agents.not_found: no agent "%s"', p_slug);
  end if;
  return jsonb_build_object('slug', p_slug, 'enabled', p_enabled, 'version', v_version, 'changed', false);
end
$$;

-- Registry changes are service-role-only (Supabase grants execute on new functions to the API roles
-- by default, hence the explicit revoke). The pure helpers stay callable: they read nothing.
revoke execute on function public.actp_agents_register(jsonb, text) from public, anon, authenticated;
revoke execute on function public.actp_agents_set_enabled(text, boolean) from public, anon, authenticated;
grant execute on function public.actp_agents_register(jsonb, text) to service_role;
grant execute on function public.actp_agents_set_enabled(text, boolean) to service_role;
