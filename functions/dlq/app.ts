// dlq: the dead-letter queue and its human review (PRD §4.11). Reads are for readers (service role,
// operators, viewers; RLS agrees); review actions for operators and the service role, recorded as the
// token's identity with the body's reviewer kept as a label. Each action is one SQL function call: one
// transaction, idempotent, evented.
import { createFunctionApp } from "../_shared/http.ts";
import { route } from "../_shared/routes.ts";
import { actAsCaller } from "../_shared/act.ts";
import { runtime } from "../_shared/runtime.ts";
import { BulkReplayBody, DiscardBody, DlqFingerprint, DlqGroupsQuery, DlqId, DlqListQuery, FixBody, GroupReplayBody, ReplayBody } from "../../shared/dlq/contracts.ts";
import { discardDlq, fixDlq, getDlqItem, listDlq, listDlqGroups, replayDlq, replayDlqBulk, replayDlqGroup } from "../../shared/dlq/queries.ts";

export const app = createFunctionApp("dlq", {
  title: "actp dlq",
  description: "The dead-letter queue and its review: list and show items, replay one or many, discard, or fix the input and replay.",
});

const id = { id: DlqId };
const invalid = { params: "dlq.invalid_id", query: "dlq.invalid_query", body: "dlq.invalid_request" } as const;

route(
  app,
  { method: "get", path: "/", summary: "List DLQ items (keyset pages)", access: "reader", query: DlqListQuery, validate: false, invalid, responses: { 200: { description: "a page of items" } }, errors: ["dlq.invalid_cursor"] },
  // listDlq validates the query with the same contract (for the CLI too).
  async (c, { query }) => c.json(await runtime().db.asRole(c.get("claims"), (tx) => listDlq(tx, query as never))),
);

route(
  app,
  { method: "post", path: "/replay", summary: "Replay every unresolved item a filter selects", access: "operator", body: BulkReplayBody, invalid, responses: { 200: { description: "what was replayed, and what was skipped" } }, errors: ["dlq.invalid_filter"] },
  async (c, { body }) => c.json(await actAsCaller(c, (tx) => replayDlqBulk(tx, body))),
);

// Groups by error fingerprint (issue 12): readers list them, operators replay a whole group; the
// identity recorded is the token's, through actp_caller_actor() in the SQL function.
route(
  app,
  {
    method: "get",
    path: "/groups",
    summary: "Items grouped by error fingerprint: count, first and last seen, a sample",
    access: "reader",
    query: DlqGroupsQuery,
    invalid,
    responses: { 200: { description: "{ groups }, most pending first" } },
  },
  async (c, { query }) => c.json({ groups: await runtime().db.asRole(c.get("claims"), (tx) => listDlqGroups(tx, query)) }),
);

route(
  app,
  {
    method: "post",
    path: "/groups/:fingerprint/replay",
    summary: "Replay the pending items of one group, oldest first",
    description: "Each item in its own subtransaction: one that cannot be replayed is reported, the others go on. The body is optional.",
    access: "operator",
    params: { fingerprint: DlqFingerprint },
    body: GroupReplayBody,
    bodyOptional: true,
    invalid: { params: "dlq.invalid_fingerprint", body: "dlq.invalid_request" },
    responses: { 200: { description: "matched, replayed, failed, remaining, and each item's result" } },
    errors: ["dlq.invalid_filter"],
  },
  async (c, { params, body }) => c.json(await actAsCaller(c, (tx) => replayDlqGroup(tx, params.fingerprint, body))),
);

route(
  app,
  { method: "get", path: "/:id", summary: "One DLQ item, with its failure and attempts", access: "reader", params: id, invalid, responses: { 200: { description: "the item" } }, errors: ["dlq.not_found"] },
  async (c, { params }) => c.json(await runtime().db.asRole(c.get("claims"), (tx) => getDlqItem(tx, params.id))),
);

route(
  app,
  {
    method: "post",
    path: "/:id/replay",
    summary: "Replay an item with its original input",
    description: "The body is optional. 201 with the new job; 200 when the item was already resolved this way.",
    access: "operator",
    params: id,
    body: ReplayBody,
    bodyOptional: true,
    invalid,
    responses: { 200: { description: "already replayed" }, 201: { description: "replayed" } },
    errors: ["dlq.not_found", "dlq.conflict"],
  },
  async (c, { params, body }) => {
    const r = await actAsCaller(c, (tx) => replayDlq(tx, params.id, body.reviewer, body.note));
    return c.json(r, r.already_resolved ? 200 : 201);
  },
);

route(
  app,
  { method: "post", path: "/:id/discard", summary: "Discard an item", access: "operator", params: id, body: DiscardBody, bodyOptional: true, invalid, responses: { 200: { description: "discarded" } }, errors: ["dlq.not_found", "dlq.conflict"] },
  async (c, { params, body }) => c.json(await actAsCaller(c, (tx) => discardDlq(tx, params.id, body.reviewer, body.note))),
);

route(
  app,
  {
    method: "post",
    path: "/:id/fix",
    summary: "Replay an item with a corrected input",
    description: "The input must match the agent's input schema. 201 with the new job; 200 when the item was already resolved this way.",
    access: "operator",
    params: id,
    body: FixBody,
    invalid,
    responses: { 200: { description: "already fixed" }, 201: { description: "fixed and replayed" } },
    errors: ["dlq.not_found", "dlq.conflict", "dlq.invalid_input", "dlq.unvalidatable_input"],
  },
  async (c, { params, body }) => {
    const r = await actAsCaller(c, (tx) => fixDlq(tx, params.id, body.reviewer, body.input, body.note));
    return c.json(r, r.already_resolved ? 200 : 201);
  },
);
