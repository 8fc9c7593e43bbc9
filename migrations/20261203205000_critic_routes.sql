-- Critic / verifier (PRD §4.16): the model route its judge uses (task type critic_review), so the
-- judge's model is chosen, priced, budgeted and failed over like every other model call. A fast
-- model first: the judge answers one short JSON verdict per claim, several times.
insert into public.actp_model_routes
  (task_type, model, priority, max_cost_usd, conditions, input_usd_per_mtok, output_usd_per_mtok)
values
  ('critic_review', 'claude-haiku-4-5', 10, 0.10, '{"max_context_length": 200000}', 1, 5),
  ('critic_review', 'claude-sonnet-5',  20, 0.25, '{}',                             2, 10)
on conflict (task_type, model) do nothing;
