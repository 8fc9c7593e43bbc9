// Renders a packet as the text a model reads: one section per layer, items delimited, in the
// packet's order. Used for exact token counting, so what is counted is what is sent.
import type { AgentContextPacket, PackedItem } from "./contracts.ts";

const section = (title: string, items: readonly PackedItem[]) =>
  items.length === 0 ? "" : `<${title}>\n${items.map((i) => `- ${i.text}`).join("\n")}\n</${title}>\n`;

export function renderContext(p: AgentContextPacket): string {
  return [
    p.conversation.summary ? `<conversation_summary>\n${p.conversation.summary}\n</conversation_summary>\n` : "",
    section("conversation", p.conversation.turns),
    section("goals", p.goals.active_objectives),
    section("procedures", p.procedural.sops),
    section("lessons", p.procedural.lessons),
    section("entities", p.semantic.entities),
    section("facts", p.semantic.facts),
    section("recent_events", p.episodic.recent_events),
    p.task ? `<task>\n${p.task}\n</task>\n` : "",
  ].join("");
}
