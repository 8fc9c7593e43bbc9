// Where the context assembler (PRD §4.17) reads conversation turns and active goals. actp ships
// minimal canonical tables (actp_memory_conversation_turns, actp_memory_conversations,
// actp_memory_goals); a deployment whose conversations or objectives live in tables of its own
// points these adapters at them by naming the table and columns (identifiers only: they are
// validated and quoted, values are always parameters), and passes the loaders to assembleContext
// ({ sources: defaultSources(memorySources({...})) }).
import type { Queryable } from "../db/types.ts";
import type { ContextItemInput } from "../context/contracts.ts";
import type { LayerLoader } from "../context/sources.ts";

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
function ident(name: string): string {
  if (!IDENT.test(name)) throw new Error(`memory adapter: ${JSON.stringify(name)} is not a plain SQL identifier`);
  return `"${name}"`;
}
function table(name: string): string {
  return name.split(".").map(ident).join(".");
}

export interface ConversationTableAdapter {
  table: string;
  columns: { conversation: string; seq: string; role: string; content: string; tool_use_id?: string; agent?: string; user?: string };
  /** Where a conversation's running summary is, if anywhere; `user` is matched against user_id. */
  conversations?: { table: string; id: string; summary: string; user?: string; agent?: string; updated_at?: string };
}

export interface GoalTableAdapter {
  table: string;
  columns: { id: string; title: string; description?: string; status?: string; agent?: string; priority?: string; due_at?: string };
  /** The status value meaning "active" (default 'active'). */
  activeStatus?: string;
}

export const DEFAULT_CONVERSATIONS: ConversationTableAdapter = {
  table: "public.actp_memory_conversation_turns",
  columns: { conversation: "conversation_id", seq: "seq", role: "role", content: "content", tool_use_id: "tool_use_id", agent: "agent_slug" },
  conversations: { table: "public.actp_memory_conversations", id: "id", summary: "summary", user: "user_id", agent: "agent_slug", updated_at: "updated_at" },
};

export const DEFAULT_GOALS: GoalTableAdapter = {
  table: "public.actp_memory_goals",
  columns: { id: "id", title: "title", description: "description", status: "status", agent: "agent_slug", priority: "priority", due_at: "due_at" },
};

interface TurnRow {
  seq: number;
  role: string;
  content: string;
  tool_use_id: string | null;
  conversation: string;
}

/**
 * The newest conversation of this user with this agent (by its last update), its last `limit`
 * turns newest first, a tool_use turn and its tool_result as one atomic item.
 */
export function conversationLoader(a: ConversationTableAdapter = DEFAULT_CONVERSATIONS, limit = 50): LayerLoader {
  const c = a.columns;
  const t = table(a.table);
  return async (db: Queryable, req) => {
    let conversation: string | null = null;
    let summary: string | null = null;
    if (a.conversations) {
      const cv = a.conversations;
      const where: string[] = [];
      const args: unknown[] = [];
      if (cv.user) {
        args.push(req.user_id ?? null);
        where.push(`${ident(cv.user)} is not distinct from $${args.length}`);
      }
      if (cv.agent) {
        args.push(req.agent_slug);
        where.push(`${ident(cv.agent)} = $${args.length}`);
      }
      const { rows } = await db.query<{ id: string; summary: string | null }>(
        `select ${ident(cv.id)}::text as id, ${ident(cv.summary)} as summary from ${table(cv.table)}
          ${where.length ? `where ${where.join(" and ")}` : ""}
          order by ${cv.updated_at ? ident(cv.updated_at) : ident(cv.id)} desc limit 1`,
        args,
      );
      conversation = rows[0]?.id ?? null;
      summary = rows[0]?.summary ?? null;
    } else if (c.agent) {
      const { rows } = await db.query<{ id: string }>(
        `select ${ident(c.conversation)}::text as id from ${t} where ${ident(c.agent)} = $1 order by ${ident(c.seq)} desc limit 1`,
        [req.agent_slug],
      );
      conversation = rows[0]?.id ?? null;
    }
    if (conversation === null) return { items: [], summary };
    const { rows } = await db.query<TurnRow>(
      `select ${ident(c.seq)} as seq, ${ident(c.role)} as role, ${ident(c.content)} as content,
              ${c.tool_use_id ? `${ident(c.tool_use_id)}::text` : "null::text"} as tool_use_id, ${ident(c.conversation)}::text as conversation
         from ${t} where ${ident(c.conversation)}::text = $1 order by ${ident(c.seq)} desc limit $2`,
      [conversation, limit],
    );
    // Pair tool turns: the rows are newest first; a pair is ranked by its newest turn.
    const items: ContextItemInput[] = [];
    const pairs = new Map<string, TurnRow[]>();
    for (const r of rows) if (r.tool_use_id) pairs.set(r.tool_use_id, [...(pairs.get(r.tool_use_id) ?? []), r]);
    const done = new Set<string>();
    for (const r of rows) {
      if (r.tool_use_id) {
        if (done.has(r.tool_use_id)) continue;
        done.add(r.tool_use_id);
        const turns = pairs.get(r.tool_use_id)!.slice().sort((x, y) => x.seq - y.seq);
        items.push({
          id: `${conversation}:${turns.map((x) => x.seq).join("+")}`,
          layer: "conversation",
          slot: "turns",
          rank: items.length,
          atomic: true,
          text: turns.map((x) => `${x.role}: ${x.content}`).join("\n"),
          data: { seq: turns[0]!.seq, roles: turns.map((x) => x.role), tool_use_id: r.tool_use_id },
        });
        continue;
      }
      items.push({
        id: `${conversation}:${r.seq}`,
        layer: "conversation",
        slot: "turns",
        rank: items.length,
        text: `${r.role}: ${r.content}`,
        data: { seq: r.seq, role: r.role },
      });
    }
    return { items, summary };
  };
}

/** The agent's active goals, highest priority first, then soonest due, then oldest. */
export function goalsLoader(a: GoalTableAdapter = DEFAULT_GOALS, limit = 20): LayerLoader {
  const c = a.columns;
  return async (db: Queryable, req) => {
    const where: string[] = [];
    const args: unknown[] = [];
    if (c.status) {
      args.push(a.activeStatus ?? "active");
      where.push(`${ident(c.status)} = $${args.length}`);
    }
    if (c.agent) {
      args.push(req.agent_slug);
      where.push(`(${ident(c.agent)} = $${args.length} or ${ident(c.agent)} is null)`);
    }
    args.push(limit);
    const order = [c.priority ? `${ident(c.priority)} desc` : null, c.due_at ? `${ident(c.due_at)} asc nulls last` : null, `${ident(c.id)}::text`].filter(Boolean);
    const { rows } = await db.query<{ id: string; title: string; description: string | null; due_at: string | null }>(
      `select ${ident(c.id)}::text as id, ${ident(c.title)} as title, ${c.description ? ident(c.description) : "null::text"} as description,
              ${c.due_at ? `${ident(c.due_at)}::text` : "null::text"} as due_at
         from ${table(a.table)} ${where.length ? `where ${where.join(" and ")}` : ""}
        order by ${order.join(", ")} limit $${args.length}`,
      args,
    );
    return {
      items: rows.map((g, rank) => ({
        id: g.id,
        layer: "goals" as const,
        slot: "active_objectives",
        rank,
        text: g.description ? `${g.title}: ${g.description}` : g.title,
        data: { title: g.title, ...(g.due_at ? { due_at: g.due_at } : {}) },
      })),
    };
  };
}

/** Loaders for the layers whose stores this module owns, to pass to defaultSources(). */
export function memorySources(o: { conversations?: ConversationTableAdapter; goals?: GoalTableAdapter } = {}) {
  return { conversation: conversationLoader(o.conversations), goals: goalsLoader(o.goals) };
}
