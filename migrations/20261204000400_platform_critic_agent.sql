-- The platform's own critic (the memory gate's critic job on queue actp.memory.critic, and POST
-- /critic/review) asks its model judge as this agent, through the policy service: each answer is
-- reserved at its worst case and settled at its usage (shared/critic/metered-judge.ts). So a budget,
-- global or scoped to agent:actp-critic, bounds what the critic spends, and the ledger shows it.
-- A deployment that already has an agent of this name keeps it.
select public.actp_agents_register(jsonb_build_object(
         'slug', 'actp-critic',
         'description', 'actp platform: the critic that scores memory proposals (PRD §4.16, §4.8); its model calls are checked and billed as this agent'))
 where not exists (select 1 from public.actp_agent_definitions where slug = 'actp-critic');
