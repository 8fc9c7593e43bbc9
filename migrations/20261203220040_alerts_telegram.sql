-- Alerts and Telegram (issue 12 §3). The database decides what is worth an alert (incident
-- transitions and reminders, SLA page-level burns, DLQ bursts) and writes it into an outbox, one row
-- per alert and chat; a sender (shared/telegram/outbox.ts: the telegram function's /drain, run every
-- few seconds by `actp dev` and by a pg_net schedule on Supabase) groups what is pending per chat into
-- few messages and respects Telegram's limits, which it records here so several senders agree.
-- The webhook's state lives here too: the chats it answers, update ids it has seen, the single-use
-- nonces of its buttons and every action taken from Telegram with who took it.

create table public.actp_telegram_chats (
  chat_id bigint primary key,
  title text not null default '' check (length(title) <= 200),
  -- Receives alerts; may read (/status, /dlq); may act (replay, discard, /ack).
  alerts boolean not null default true,
  can_read boolean not null default true,
  can_act boolean not null default false,
  -- Set from a 429's retry_after: nothing is sent to this chat before.
  next_send_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.actp_telegram_chats is 'The allowlist: chats the bot alerts and answers; anything else is ignored and logged.';

create trigger tg_actp_telegram_chats__touch
  before update on public.actp_telegram_chats
  for each row execute function public.actp_touch_updated_at();

create table public.actp_alerts (
  id bigint generated always as identity primary key,
  kind text not null check (kind in ('incident', 'sla_burn', 'dlq', 'test')),
  severity text not null check (severity in ('critical', 'warning', 'info')),
  -- Alerts with the same group key are folded into one line of a digest.
  group_key text not null check (length(group_key) between 1 and 300),
  title text not null check (length(title) between 1 and 500),
  details jsonb not null default '{}'::jsonb check (jsonb_typeof(details) = 'object'),
  created_at timestamptz not null default now()
);
create index actp_alerts_time_idx on public.actp_alerts (created_at);

create table public.actp_alert_outbox (
  id bigint generated always as identity primary key,
  alert_id bigint not null references public.actp_alerts (id) on delete cascade,
  chat_id bigint not null references public.actp_telegram_chats (chat_id) on delete cascade,
  status text not null default 'pending' check (status in ('pending', 'sent', 'failed')),
  attempts int not null default 0 check (attempts >= 0),
  sent_at timestamptz,
  message_id bigint,
  last_error text,
  created_at timestamptz not null default now(),
  unique (alert_id, chat_id)
);
create index actp_alert_outbox_pending_idx on public.actp_alert_outbox (chat_id, id) where status = 'pending';

-- Every message sent, per chat: the rate limiter's memory (1 message/s per chat, 20/min per group).
create table public.actp_telegram_sends (
  id bigint generated always as identity primary key,
  chat_id bigint not null,
  sent_at timestamptz not null default now(),
  message_id bigint,
  alerts int not null default 0
);
create index actp_telegram_sends_chat_idx on public.actp_telegram_sends (chat_id, sent_at);

create table public.actp_telegram_updates (
  update_id bigint primary key,
  chat_id bigint,
  from_id bigint,
  kind text not null,
  allowed boolean not null,
  received_at timestamptz not null default now()
);
create index actp_telegram_updates_time_idx on public.actp_telegram_updates (received_at);

create table public.actp_telegram_nonces (
  nonce text primary key check (length(nonce) between 4 and 32),
  used_at timestamptz not null default now(),
  used_by bigint
);

create table public.actp_telegram_actions (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  chat_id bigint,
  telegram_user_id bigint,
  telegram_username text,
  action text not null check (length(action) between 1 and 100),
  target text,
  ok boolean not null,
  result jsonb not null default '{}'::jsonb
);
create index actp_telegram_actions_time_idx on public.actp_telegram_actions (at desc);

create trigger tg_actp_telegram_actions__append_only
  before update or delete on public.actp_telegram_actions
  for each row execute function public.actp_reject_mutation();

-- Enqueue: one alert, fanned out to every chat that takes alerts. Returns the alert id.
create or replace function public.actp_alert_enqueue(p_kind text, p_severity text, p_group_key text, p_title text, p_details jsonb)
returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_id bigint;
begin
  insert into public.actp_alerts (kind, severity, group_key, title, details)
  values (p_kind, p_severity, left(p_group_key, 300), left(p_title, 500), coalesce(p_details, '{}'))
  returning id into v_id;
  insert into public.actp_alert_outbox (alert_id, chat_id)
  select v_id, c.chat_id from public.actp_telegram_chats c where c.alerts;
  return v_id;
end
$$;

-- A dead-lettered job is an alert; a burst of them is folded by fingerprint when sent.
create or replace function public.actp_alert_on_dlq()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  perform public.actp_alert_enqueue('dlq', 'warning', 'dlq:' || new.error_fingerprint,
    format('Dead-lettered: %s', new.job_type),
    jsonb_build_object('dlq_id', new.id, 'job_type', new.job_type, 'fingerprint', new.error_fingerprint,
                       'failure_reason', left(new.failure_reason, 300), 'job_id', new.original_job_id));
  return null;
end
$$;

create trigger tg_actp_dlq__alert
  after insert on public.actp_dlq
  for each row execute function public.actp_alert_on_dlq();

-- SLA page-level burns: one alert when a job type starts paging, none while it keeps paging.
create table public.actp_sla_page_state (
  job_type text primary key,
  paging_since timestamptz not null default now()
);

create or replace function public.actp_sla_page_alerts(p_now timestamptz default now())
returns int
language plpgsql
set search_path = ''
as $$
declare
  r record;
  n int := 0;
begin
  for r in
    with paging as (
      select b.job_type, jsonb_build_object('job_type', b.job_type, 'burn_5m', b.burn_5m, 'burn_30m', b.burn_30m,
                                            'burn_1h', b.burn_1h, 'burn_6h', b.burn_6h, 'bad_1h', b.bad_1h,
                                            'total_1h', b.total_1h, 'budget_remaining', b.budget_remaining,
                                            'exhaustion_at', b.exhaustion_at) as ev
        from public.actp_sla_budget_status(p_now, false) b where b.page
    ), stopped as (
      delete from public.actp_sla_page_state s where s.job_type not in (select p.job_type from paging p)
    ), started as (
      insert into public.actp_sla_page_state (job_type, paging_since)
      select p.job_type, p_now from paging p
      on conflict (job_type) do nothing
      returning job_type
    )
    select p.job_type, p.ev from started s join paging p on p.job_type = s.job_type
  loop
    perform public.actp_alert_enqueue('sla_burn', 'critical', 'sla:' || r.job_type,
      format('SLA error budget burning fast: %s', r.job_type), r.ev);
    n := n + 1;
  end loop;
  return n;
end
$$;

insert into public.actp_schedules (name, cron_expr, command, description, critical)
values (
  'actp:sla:page-alerts',
  '* * * * *',
  'select public.actp_sla_page_alerts()',
  'Alerts once when a job type starts burning its SLA error budget at a page-level rate.',
  true
)
on conflict (name) do nothing;

-- Sender: claims one chat's pending alerts (skip locked: two senders never take the same chat), when
-- the chat's limits allow a message now. Returns the chat and its alerts, oldest first.
create or replace function public.actp_telegram_claim(p_limit int default 1000)
returns table (chat_id bigint, is_group boolean, outbox_ids bigint[], alerts jsonb)
language plpgsql
set search_path = ''
as $$
declare
  c record;
begin
  for c in
    select t.chat_id from public.actp_telegram_chats t
     where (t.next_send_at is null or t.next_send_at <= now())
       and exists (select 1 from public.actp_alert_outbox o where o.chat_id = t.chat_id and o.status = 'pending')
       -- 1 message per second per chat; 20 per minute in a group (negative ids are groups/channels).
       and not exists (select 1 from public.actp_telegram_sends s where s.chat_id = t.chat_id and s.sent_at > now() - interval '1 second')
       and (t.chat_id > 0 or (select count(*) from public.actp_telegram_sends s
                               where s.chat_id = t.chat_id and s.sent_at > now() - interval '1 minute') < 20)
     order by t.chat_id
       for update skip locked
  loop
    return query
      select c.chat_id, c.chat_id < 0, array_agg(o.id order by o.id),
             jsonb_agg(jsonb_build_object('id', a.id, 'kind', a.kind, 'severity', a.severity, 'group_key', a.group_key,
                                          'title', a.title, 'details', a.details, 'created_at', a.created_at) order by o.id)
        from (select * from public.actp_alert_outbox o2
               where o2.chat_id = c.chat_id and o2.status = 'pending' order by o2.id limit p_limit) o
        join public.actp_alerts a on a.id = o.alert_id;
    return;
  end loop;
end
$$;

-- Sender: records one message sent to a chat (the rate limiter counts these) and, with the last
-- message of a digest, marks its alerts sent.
create or replace function public.actp_telegram_record_send(p_chat bigint, p_message_id bigint, p_outbox_ids bigint[], p_alerts int)
returns void
language sql
set search_path = ''
as $$
  insert into public.actp_telegram_sends (chat_id, message_id, alerts) values (p_chat, p_message_id, coalesce(p_alerts, 0));
  update public.actp_alert_outbox
     set status = 'sent', sent_at = now(), message_id = p_message_id, attempts = attempts + 1
   where id = any(coalesce(p_outbox_ids, '{}')) and status = 'pending';
$$;

-- Sender: a failed send. A 429 defers the chat by retry_after; after max attempts an alert is failed.
create or replace function public.actp_telegram_record_failure(p_chat bigint, p_outbox_ids bigint[], p_error text, p_retry_after_s int, p_max_attempts int default 5)
returns void
language sql
set search_path = ''
as $$
  update public.actp_telegram_chats
     set next_send_at = now() + coalesce(p_retry_after_s, 5) * interval '1 second'
   where chat_id = p_chat;
  update public.actp_alert_outbox
     set attempts = attempts + 1, last_error = left(p_error, 1000),
         status = case when attempts + 1 >= p_max_attempts and p_retry_after_s is null then 'failed' else status end
   where id = any(coalesce(p_outbox_ids, '{}')) and status = 'pending';
$$;

-- Webhook: first sight of an update id (false: a duplicate delivery, ignore it).
create or replace function public.actp_telegram_see_update(p_update_id bigint, p_chat bigint, p_from bigint, p_kind text, p_allowed boolean)
returns boolean
language plpgsql
set search_path = ''
as $$
begin
  insert into public.actp_telegram_updates (update_id, chat_id, from_id, kind, allowed)
  values (p_update_id, p_chat, p_from, left(p_kind, 50), p_allowed)
  on conflict (update_id) do nothing;
  return found;
end
$$;

-- Webhook: spends a button's nonce; false when it was used before (a replayed button).
create or replace function public.actp_telegram_use_nonce(p_nonce text, p_user bigint)
returns boolean
language plpgsql
set search_path = ''
as $$
begin
  insert into public.actp_telegram_nonces (nonce, used_by) values (p_nonce, p_user) on conflict (nonce) do nothing;
  return found;
end
$$;

-- Housekeeping: sent alerts, seen updates and spent nonces older than their usefulness.
create or replace function public.actp_telegram_prune()
returns void
language sql
set search_path = ''
as $$
  delete from public.actp_alert_outbox where status <> 'pending' and created_at < now() - interval '7 days';
  delete from public.actp_alerts a where a.created_at < now() - interval '7 days'
    and not exists (select 1 from public.actp_alert_outbox o where o.alert_id = a.id);
  delete from public.actp_telegram_sends where sent_at < now() - interval '1 day';
  delete from public.actp_telegram_updates where received_at < now() - interval '7 days';
  -- A button expires within a day (shared/telegram/callback.ts), so its nonce need not outlive that.
  delete from public.actp_telegram_nonces where used_at < now() - interval '2 days';
$$;

insert into public.actp_schedules (name, cron_expr, command, description, critical)
values ('actp:telegram:prune', '41 * * * *', 'select public.actp_telegram_prune()',
        'Deletes sent alerts, seen Telegram updates and spent button nonces past their use.', false)
on conflict (name) do nothing;

select public.actp_secure_table('actp_telegram_chats', 'read');
select public.actp_secure_table('actp_alerts', 'read');
select public.actp_secure_table('actp_alert_outbox', 'read');
select public.actp_secure_table('actp_telegram_sends', 'none');
select public.actp_secure_table('actp_telegram_updates', 'none');
select public.actp_secure_table('actp_telegram_nonces', 'none');
select public.actp_secure_table('actp_telegram_actions', 'read');
select public.actp_secure_table('actp_sla_page_state', 'read');

do $$
declare
  f text;
begin
  foreach f in array array[
    'public.actp_alert_enqueue(text, text, text, text, jsonb)',
    'public.actp_alert_on_dlq()',
    'public.actp_sla_page_alerts(timestamptz)',
    'public.actp_telegram_claim(int)',
    'public.actp_telegram_record_send(bigint, bigint, bigint[], int)',
    'public.actp_telegram_record_failure(bigint, bigint[], text, int, int)',
    'public.actp_telegram_see_update(bigint, bigint, bigint, text, boolean)',
    'public.actp_telegram_use_nonce(text, bigint)',
    'public.actp_telegram_prune()'
  ]
  loop
    execute format('revoke all on function %s from public, anon, authenticated', f);
    execute format('grant execute on function %s to service_role', f);
  end loop;
end
$$;
