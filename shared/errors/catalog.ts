// Every error code actp raises, declared once: its HTTP status and what it means. TypeScript takes
// ErrorCode from here (an undeclared code is a type error), scripts/gen-error-codes.ts writes the rows
// into actp_error_codes, and plpgsql raises through actp_raise(code, message), which refuses a code
// that is not in that table. The status of an error is looked up here, never guessed from its name.
//
// To add a code: add a row below (component.reason, lowercase), run `npm run gen:error-codes`, and
// rename the new migration it writes into your timestamp range (keep the `_error_codes` suffix).
// Removing or renaming a code that has shipped is a breaking change for callers that switch on it.

export interface ErrorSpec {
  /** The HTTP status an API answers with. */
  readonly status: number;
  /** What happened, for the API reference and for people reading a DLQ entry. */
  readonly description: string;
  /** The CLI's exit status when a command fails with this code (default: from the HTTP status). */
  readonly exit?: number;
}

const spec = (status: number, description: string, exit?: number): ErrorSpec =>
  exit === undefined ? { status, description } : { status, description, exit };

export const ERROR_CODES = {
  // platform
  internal: spec(500, "an unexpected error; the server logged it and the caller gets no internals"),
  "actp.append_only": spec(409, "an append-only table (events, DLQ records, versions) refused an update or delete"),
  "actp.invalid_access": spec(400, "actp_secure_table was given an access mode other than 'read' or 'none'"),
  "actp.unknown_error_code": spec(500, "actp_raise was asked to raise a code that is not in the error catalog (a bug in actp)"),
  "validation.failed": spec(400, "the request does not match its contract; details lists zod's issues"),

  // HTTP and auth
  "http.invalid_json": spec(400, "the request body is empty or not valid UTF-8 JSON"),
  "http.payload_too_large": spec(413, "the request body is larger than 1 MiB"),
  "http.not_found": spec(404, "no route for this method and path"),
  "http.error": spec(400, "a malformed request rejected before it reached a route"),
  "auth.unauthorized": spec(401, "no bearer token, or one that is invalid or expired"),
  "auth.forbidden": spec(403, "the caller's role may not do this (see \"Who may do what\")"),
  "gateway.function_not_found": spec(404, "the local gateway has no function of that name"),
  "http.body_incomplete": spec(400, "the request body ended before it was complete (the client went away mid-body)"),

  // input that Postgres or the stack cannot take (shared/input/safe-json.ts, and fromPgError)
  "input.nul_character": spec(400, "text holds NUL (\\u0000), which Postgres cannot store in text or jsonb"),
  "input.invalid_unicode": spec(400, "text holds an unpaired UTF-16 surrogate or bytes that are not UTF-8"),
  "input.too_deep": spec(400, "JSON nests deeper than 64 levels"),

  // database errors without a code of ours (fromPgError)
  "db.raised": spec(400, "plpgsql raised P0001 without an actp code"),
  "db.unique_violation": spec(409, "a unique constraint refused the write"),
  "db.foreign_key_violation": spec(400, "a foreign key refused the write (the referenced row does not exist)"),
  "db.check_violation": spec(400, "a check constraint refused the write"),
  "db.not_null_violation": spec(400, "a required column was null"),
  "db.invalid_value": spec(400, "a value Postgres cannot convert (a malformed UUID, number or timestamp)"),
  "db.statement_timeout": spec(503, "the request ran past the API roles' statement_timeout (ACTP_STATEMENT_TIMEOUT); ask for a smaller page or range"),

  // events (§4.5)
  "events.unknown_type": spec(400, "the event type is not in the registry; details suggests the nearest"),
  "events.invalid_event": spec(400, "the event or its payload does not match the registry's schema"),
  "events.invalid_batch": spec(400, "a batch is not an array, is empty or has more than 1000 events"),
  "events.invalid_query": spec(400, "an event query parameter is invalid"),

  // agents (§4.1)
  "agents.not_found": spec(404, "no agent with this slug"),
  "agents.conflict": spec(409, "two different agents are defined with the same slug"),
  "agents.invalid_definition": spec(400, "an agent definition is malformed (slug, schema, capabilities, handler)"),
  "agents.invalid_changelog": spec(400, "a changelog is empty or longer than 5000 characters"),
  "agents.invalid_request": spec(400, "an agents request is malformed"),
  "agents.invalid_query": spec(400, "an agents query parameter is invalid"),
  "agents.invalid_slug": spec(400, "not an agent slug (^[a-z][a-z0-9_-]{0,62}$)"),

  // jobs and the worker (§4.13)
  "jobs.invalid_id": spec(400, "a job id is not a UUID"),
  "jobs.invalid_input": spec(400, "the job input does not match the agent's input schema"),
  "jobs.invalid_options": spec(400, "job options are malformed"),
  "jobs.agent_not_found": spec(404, "no registered agent of that slug"),
  "jobs.agent_disabled": spec(409, "the agent is disabled; enable it before submitting jobs"),
  "jobs.agent_changed": spec(409, "the agent changed since its schema validated the input; the submitter reads it again"),
  "jobs.job_not_found": spec(404, "no job with this id"),
  "jobs.not_cancellable": spec(409, "the job has already finished"),
  "jobs.duplicate": spec(409, "a job with this singleton key already exists in its slot"),
  "jobs.queue_unavailable": spec(503, "pg-boss is not installed in this database yet; start a worker once"),
  "jobs.replay_source_not_found": spec(404, "the job to replay does not exist"),
  "jobs.replay_step_not_found": spec(404, "the job to replay has no step of that name"),
  "jobs.timed_out": spec(504, "a job attempt ran past its timeout"),
  "jobs.aborted": spec(409, "the job was cancelled, or its claim released, while it ran"),
  "jobs.duplicate_step": spec(400, "a step name was used twice in one run"),
  "jobs.non_retriable": spec(400, "the agent threw NonRetriableError: the job goes to the DLQ without another attempt"),
  "jobs.retry_after": spec(503, "the agent threw RetryAfterError: the job runs again at the time it named"),

  // L0 scratchpad (§4.6)
  "scratchpad.invalid_value": spec(400, "a scratchpad value is not JSON-serializable"),
  "scratchpad.limit_exceeded": spec(413, "the scratchpad of a job is over its size limit"),
  "scratchpad.released": spec(409, "the scratchpad was used after its job finished"),

  // DLQ and review (§4.11)
  "dlq.not_found": spec(404, "no DLQ item with this id"),
  "dlq.conflict": spec(409, "the DLQ item was already resolved"),
  "dlq.immutable": spec(409, "the dead-lettered record of a DLQ item cannot be changed"),
  "dlq.input_required": spec(400, "a manual fix needs the corrected input"),
  "dlq.invalid_input": spec(400, "the corrected input does not match the agent's input schema"),
  "dlq.unvalidatable_input": spec(422, "the agent's registered input schema cannot be checked"),
  "dlq.invalid_id": spec(400, "a DLQ item id is not a UUID"),
  "dlq.invalid_filter": spec(400, "a bulk filter is malformed"),
  "dlq.invalid_fingerprint": spec(400, "an error fingerprint is not 16 lowercase hex digits"),

  // SLA tracking (§4.9)
  "sla.not_found": spec(404, "no SLA target for this job type, or no measurement for this job"),
  "sla.invalid_job_type": spec(400, "not a job type (an agent slug) or *"),
  "sla.invalid_query": spec(400, "an SLA query parameter is invalid (window: 1m to 90d)"),
  "sla.invalid_id": spec(400, "a job id is not a UUID"),
  "sla.default_required": spec(400, "the * target is the default of every job type: change it, it cannot be deleted"),

  // incident mode (§4.10)
  "incidents.not_found": spec(404, "there is no open incident to acknowledge or resolve"),
  "incidents.conflict": spec(409, "the platform is already at that mode, or another incident is the open one"),
  "incidents.invalid_mode": spec(400, "an incident is declared as degraded or incident"),
  "incidents.note_required": spec(400, "this action needs a note saying why"),
  "incidents.invalid_note": spec(400, "a note is 1 to 2000 characters"),
  "incidents.invalid_query": spec(400, "an incidents query parameter is invalid"),

  // Telegram
  "telegram.not_configured": spec(503, "ACTP_TELEGRAM_BOT_TOKEN and ACTP_TELEGRAM_WEBHOOK_SECRET are not set"),
  "telegram.invalid_update": spec(400, "the webhook body is not a Telegram update"),
  "telegram.invalid_chat": spec(400, "not a Telegram chat id"),
  "telegram.not_found": spec(404, "the chat is not on the allowlist"),
  "telegram.rate_limited": spec(502, "the Bot API answered 429; the sender waits retry_after"),
  "telegram.api_error": spec(502, "the Bot API refused a call or could not be reached"),
  "dlq.invalid_query": spec(400, "a DLQ query parameter is invalid"),
  "dlq.invalid_cursor": spec(400, "a DLQ page cursor is malformed"),
  "dlq.invalid_request": spec(400, "a DLQ request is malformed"),
  "dlq.invalid_note": spec(400, "a review note is empty or longer than 2000 characters"),
  "dlq.invalid_reviewer": spec(400, "a reviewer name is longer than 200 characters"),
  "dlq.reviewer_required": spec(400, "a review action needs the reviewer who takes it"),

  // replay and forensics (§4.14)
  "forensics.not_found": spec(404, "no job with this id"),
  "forensics.conflict": spec(409, "the job is still running; replay it once it has finished"),
  "forensics.unknown_step": spec(400, "the job has no step of that name or number"),
  "forensics.step_not_reusable": spec(400, "earlier steps did not complete, so the run cannot restart from this step"),
  "forensics.invalid_requester": spec(400, "requested_by is longer than 200 characters"),
  "forensics.invalid_job_id": spec(400, "a job id is not a UUID"),
  "forensics.invalid_step": spec(400, "not a step name or a 1-based step number"),
  "forensics.invalid_query": spec(400, "a forensics query parameter is invalid"),
  "forensics.invalid_request": spec(400, "a replay request is malformed"),
  "forensics.invalid_cursor": spec(400, "a timeline cursor that this API did not return"),
  "forensics.too_large": spec(422, "a run has more steps than a diff compares (5,000); read its timeline page by page"),

  // policy service (§4.2)
  "policy.not_found": spec(404, "no policy with this id"),
  "policy.invalid_id": spec(400, "a policy or approval id is not a UUID"),
  "policy.invalid_policy": spec(400, "a policy or its config does not match its type's shape"),
  "policy.invalid_patch": spec(400, "a policy update is malformed"),
  "policy.invalid_config": spec(400, "a policy config is not valid JSON"),
  "policy.invalid_query": spec(400, "a policy query parameter is invalid"),
  "policy.invalid_spend_query": spec(400, "a spend query parameter is invalid"),
  "policy.invalid_approval_query": spec(400, "an approvals query parameter is invalid"),
  "policy.invalid_check": spec(400, "a policy check request is malformed"),
  "policy.invalid_settle": spec(400, "a settle request is malformed"),
  "policy.invalid_agent": spec(400, "agent_slug is not a registered agent slug"),
  "policy.unknown_agent": spec(400, "the policy's scope names an agent that is not registered (allow_unknown: true to create it anyway)"),
  "policy.invalid_tool": spec(400, "tool_name is not a valid tool name"),
  "policy.invalid_action_type": spec(400, "action_type is not a valid action type"),
  "policy.invalid_cost": spec(400, "a cost is not a number between 0 and 1e9"),
  "policy.invalid_args_hash": spec(400, "args_hash is not 1 to 200 characters"),
  "policy.invalid_reservation": spec(400, "reservation_id is missing"),
  "policy.invalid_decision": spec(400, "an approval decision or its decider is malformed"),
  "policy.isolation": spec(500, "actp_policy_check ran under an isolation level other than READ COMMITTED"),
  "policy.reservation.not_found": spec(404, "no budget reservation with this id"),
  "policy.reservation.conflict": spec(409, "the reservation was already settled"),
  "policy.approval.not_found": spec(404, "no approval with this id"),
  "policy.approval.conflict": spec(409, "the approval was already decided"),

  // tool and model calls (ctx.tool, ctx.llm)
  "tool.denied": spec(403, "the policy service denied the call; details has the reason and retry_after"),
  "tool.circuit_open": spec(503, "the tool's circuit breaker is open and no fallback took the call"),
  "tool.timeout": spec(504, "the tool call did not finish within its timeout"),
  "tool.rate_limited": spec(429, "the tool answered that it is rate limited"),
  "tool.unavailable": spec(503, "the tool could not be reached"),
  "tool.invalid_input": spec(400, "bad input to ctx.tool itself (name, options, arguments that are not JSON)"),
  "tool.invalid_event": spec(400, "a tool-call event recorded by the database is malformed"),
  "llm.not_configured": spec(503, "no ANTHROPIC_API_KEY and no ANTHROPIC_BASE_URL: ctx.llm cannot call a model"),
  "llm.unavailable": spec(503, "no model of the route could serve the task type"),

  // circuit breakers (§4.12)
  "circuits.not_found": spec(404, "no circuit for this tool"),
  "circuits.invalid_tool": spec(400, "not a valid tool name"),
  "circuits.invalid_outcome": spec(400, "a recorded outcome is not true or false"),
  "circuits.invalid_duration": spec(400, "a force-open duration is not a positive number of seconds"),

  // model routing (§4.3)
  "model_router.not_found": spec(404, "no route with this id"),
  "model_router.invalid_id": spec(400, "a route id is not a UUID"),
  "model_router.invalid_task_type": spec(400, "not a valid task type"),
  "model_router.unknown_task_type": spec(400, "no route serves this task type"),
  "model_router.invalid_budget": spec(400, "a budget is not a non-negative number"),
  "model_router.invalid_context_length": spec(400, "a context length is not a positive integer"),

  // feature flags (§4.4)
  "flags.not_found": spec(404, "no flag with this key"),
  "flags.conflict": spec(409, "a flag with this key already exists"),
  "flags.invalid_key": spec(400, "not a valid flag key"),
  "flags.invalid_context": spec(400, "an evaluation context is not a JSON object"),

  // context assembly (ctx.context, the context function)
  "context.invalid_request": spec(400, "a context assembly request does not match its contract"),
  "context.invalid_agent": spec(400, "not an agent slug"),
  "context.profile_not_found": spec(404, "the agent has no context profile of its own (the defaults apply)"),
  "context.budget_too_small": spec(400, "the system prompt and the task alone need more tokens than the budget"),
  "context.duplicate_item": spec(400, "an item appears twice in one layer"),
  "context.invalid_slot": spec(400, "an item names a slot its layer does not have"),

  // research evidence (§4.15)
  "research.invalid_evidence_id": spec(400, "an evidence id is not a UUID"),
  "research.evidence_not_found": spec(404, "no evidence with this id"),
  "research.invalid_request": spec(400, "a research request does not match its contract"),
  "research.http_error": spec(502, "the page answered with a non-2xx status; nothing was stored"),
  "research.invalid_url": spec(403, "the URL is not a canonical http(s) URL (userinfo, other schemes and zone ids refused); nothing was fetched"),
  "research.domain_not_allowed": spec(403, "the host is not in the research allowlist (RESEARCH_ALLOWED_DOMAINS) or the agent's; nothing was fetched"),
  "research.redirect_not_allowed": spec(403, "a redirect led off the allowlist; nothing was requested past the refused hop"),
  "research.private_address": spec(403, "the host resolves to a private, loopback, link-local, CGNAT, metadata or other non-public address; nothing was sent"),
  "research.too_many_redirects": spec(403, "more redirects than the hop limit"),
  "research.unknown_agent": spec(403, "the agent_slug is not a registered agent"),
  "research.agent_disabled": spec(403, "the agent is disabled"),
  "research.denied": spec(403, "the policy service or the outbound guard refused the fetch for another reason (details.reason); nothing was fetched"),
  "research.rate_limited": spec(429, "the agent's rate limit for research.fetch is used up; details.retry_after says when to try again; nothing was fetched"),
  "research.budget_exceeded": spec(429, "the agent's budget has no room for research.fetch; details.retry_after says when the window has room; nothing was fetched"),

  // the outbound guard (ctx.fetch, the research function): shared/net/guard.ts
  "net.denied": spec(403, "the outbound guard refused a request before sending it; details.reason is invalid_url, domain_not_allowed, redirect_not_allowed, private_address or too_many_redirects, details.hop the refused hop"),
  "net.timeout": spec(504, "the request (all hops and the body) did not finish within its time limit"),
  "net.response_too_large": spec(502, "the response body is larger than the size limit"),
  "net.content_type_not_allowed": spec(502, "the response has a content type outside the accepted list"),
  "net.dns_failed": spec(502, "the host name could not be resolved"),
  "net.connect_failed": spec(502, "the connection to the checked address failed"),
  "net.body_not_replayable": spec(400, "a 307/308 redirect needs the request body again and it was a stream"),

  // critic / verifier (§4.16)
  "critic.invalid_request": spec(400, "a review request does not match its contract"),
  "critic.duplicate_evidence": spec(400, "an evidence id is given twice"),
  "critic.unknown_evidence": spec(400, "an evidence id names no stored evidence"),
  "critic.no_database": spec(400, "evidence given by id needs a database to resolve it"),
  "critic.judge_unavailable": spec(503, "the model judge failed; the deterministic checks alone could not decide"),
  "critic.http_error": spec(502, "the critic function answered an error without an actp code"),

  // vault documents and the retrieval index (§3, §4.7)
  "memory.invalid_search": spec(400, "a search request does not match its contract (empty query, k outside 1..100, unknown mode or layer)"),
  "memory.invalid_k": spec(400, "k is from 1 to 100"),
  "memory.invalid_mode": spec(400, "a search mode is hybrid, keyword or vector"),
  "memory.index_unavailable": spec(503, "the retrieval index has no active generation"),
  "memory.embedding_required": spec(400, "the active embedder is remote: the caller must send the query's vector"),
  "memory.embedding_dimensions": spec(400, "a vector does not have the active embedder's dimensions"),
  "memory.source_not_found": spec(404, "the table is not attached to the retrieval index"),
  "memory.invalid_source": spec(400, "a source table or its columns are invalid for the retrieval index"),
  "memory.invalid_vault": spec(400, "a vault name is 1 to 63 letters, digits, _ . -"),
  "memory.invalid_files": spec(400, "a vault sync payload is malformed (chunk without path, anchor or content, duplicate anchors)"),
  "memory.folder_not_found": spec(404, "the vault folder does not exist; nothing was synced or deleted"),
  "memory.not_a_folder": spec(400, "the vault path is not a folder; nothing was synced or deleted"),
  "memory.embedder_failed": spec(502, "the embeddings endpoint answered an error"),
  "memory.embedder_config": spec(400, "the embedder configuration (ACTP_EMBEDDER, ACTP_EMBEDDINGS_*) is incomplete or unknown"),
  "memory.embedder_unavailable": spec(503, "the configured embedder cannot run here (gte-small outside a Supabase edge function)"),

  // canonical facts and the memory proposal gate (§4.8)
  "memory.invalid_proposal": spec(400, "a proposal does not match its contract (layer, subject, key, value, content, evidence_refs)"),
  "memory.invalid_layer": spec(400, "the layer is not semantic (3) or procedural (4)"),
  "memory.unknown_evidence": spec(400, "an evidence ref shaped like a stored evidence id names no actp_research_evidence row"),
  "memory.idempotency_conflict": spec(409, "the idempotency key belongs to a different proposal"),
  "memory.proposal_not_found": spec(404, "no proposal with this id"),
  "memory.proposal_state_conflict": spec(409, "the proposal is not in a state that allows this (scored already, or not deferred)"),
  "memory.proposal_immutable": spec(409, "only a proposal's score and review change; submit a new proposal instead"),
  "memory.invalid_score": spec(400, "a score is a number from 0 to 10"),
  "memory.invalid_decision": spec(400, "a review decision is approve or reject"),
  "memory.invalid_id": spec(400, "a proposal id is a uuid"),
  "memory.invalid_query": spec(400, "a proposals or facts query parameter is invalid"),
  "memory.invalid_fact": spec(400, "a fact needs layer, subject, key, value and content"),
  "memory.fact_immutable": spec(409, "a fact is never changed; a new fact for its key supersedes it"),

  // the command line (exit statuses: README "Errors")
  "dev.invalid_config": spec(400, "`actp dev`: a configuration variable is malformed (a port that is not a number)", 2),
  "dev.db_password_required": spec(400, "`actp dev`: ACTP_DB_HOST is beyond loopback and ACTP_DB_PASSWORD is not set", 2),
  "dev.data_dir_in_use": spec(409, "`actp dev`: another actp dev (its pid is named) runs on this data directory"),
  "dev.port_in_use": spec(409, "`actp dev`: the database or API port is taken (names ACTP_DB_PORT or ACTP_API_PORT)"),
  "dev.cannot_listen": spec(400, "`actp dev`: the host or port cannot be bound (check ACTP_DB_HOST/PORT, ACTP_API_HOST/PORT)", 5),
  "dev.start_failed": spec(500, "`actp dev`: the start failed for another reason (the message says what)", 1),
  "cli.usage": spec(400, "an unknown command or option, or a missing argument", 2),
  "cli.invalid_json": spec(400, "an option that takes JSON was given something else", 2),
  "cli.invalid_options": spec(400, "an option's value is malformed", 2),
  "cli.db_unreachable": spec(503, "no database answered at the URL the command resolved", 3),
  "cli.module_not_found": spec(404, "the agent module given to `actp worker` does not exist or cannot be loaded", 4),
  "cli.module_failed": spec(400, "the agent module exists but importing it failed (a missing package, a syntax error, a throw)", 1),
  "cli.no_agents": spec(400, "the agent module exports no agent made with defineAgent", 1),
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The shape of a code: lowercase segments joined by dots (a single segment only for `internal`). */
export const ERROR_CODE_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;

export const errorCodes = Object.keys(ERROR_CODES).sort() as ErrorCode[];

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

export function errorSpec(code: ErrorCode): ErrorSpec {
  return ERROR_CODES[code];
}

/** The CLI exit status of a code: its own, else 4 for 404, 5 for 409, 3 for 503 from the database, 1 otherwise. */
export function exitStatusFor(code: string): number {
  if (!isErrorCode(code)) return 1;
  const s: ErrorSpec = ERROR_CODES[code];
  if (s.exit !== undefined) return s.exit;
  if (s.status === 404) return 4;
  if (s.status === 409) return 5;
  return 1;
}
