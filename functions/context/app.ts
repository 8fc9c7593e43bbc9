// context: the context assembler (PRD §4.17) over HTTPS. POST /assemble packs every memory layer
// under a token budget and answers the AgentContextPacket with its manifest; readers (service role,
// operators, viewers) may assemble, since it only reads. Layer priorities per agent are stored in
// actp_context_profiles: readers see them, the service role sets them.
import { createFunctionApp, authenticate, requireReader, requireServiceRole, jsonBody, parseWith } from "../_shared/http.ts";
import { runtime } from "../_shared/runtime.ts";
import { env } from "../../shared/env.ts";
import { notFound } from "../../shared/errors.ts";
import { AgentSlug } from "../../shared/agents/contracts.ts";
import { assembleContext } from "../../shared/context/assemble.ts";
import { AssembleContextRequest, LayerPriorities } from "../../shared/context/contracts.ts";
import { anthropicCounter } from "../../shared/context/exact-count.ts";
import { renderContext } from "../../shared/context/render.ts";
import { getProfile, upsertProfile } from "../../shared/context/statements.ts";
import { z } from "zod";

export const app = createFunctionApp("context");

const DEFAULT_COUNT_MODEL = "claude-sonnet-4-5";

function exactCounter(model?: string) {
  const apiKey = env("ANTHROPIC_API_KEY") ?? null;
  const baseURL = env("ANTHROPIC_BASE_URL") ?? null;
  if (!apiKey && !baseURL) return null;
  return anthropicCounter({ apiKey, baseURL, model: model ?? env("ACTP_CONTEXT_COUNT_MODEL") ?? DEFAULT_COUNT_MODEL });
}

const AssembleBody = AssembleContextRequest.extend({ render: z.boolean().optional() });

app.post("/assemble", authenticate, requireReader, async (c) => {
  const req = await jsonBody(c, AssembleBody);
  const { render, ...request } = req;
  const packet = await runtime().db.asRole(c.get("claims"), (tx) => assembleContext(tx, request, { exact: exactCounter(request.model) }));
  return c.json(render ? { ...packet, text: renderContext(packet) } : packet);
});

app.get("/profiles/:agent", authenticate, requireReader, async (c) => {
  const agent = parseWith(AgentSlug, c.req.param("agent"), "context.invalid_agent");
  const profile = await runtime().db.asRole(c.get("claims"), (tx) => getProfile(tx, agent));
  if (!profile) throw notFound("context.profile_not_found", `no context profile for agent "${agent}" (the defaults apply)`);
  return c.json({ profile });
});

app.put("/profiles/:agent", authenticate, requireServiceRole, async (c) => {
  const agent = parseWith(AgentSlug, c.req.param("agent"), "context.invalid_agent");
  const body = await jsonBody(c, z.strictObject({ priorities: LayerPriorities }));
  const profile = await runtime().db.asRole(c.get("claims"), (tx) => upsertProfile(tx, agent, body.priorities));
  return c.json({ profile });
});
