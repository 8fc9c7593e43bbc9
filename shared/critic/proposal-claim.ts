// A memory proposal's statement as a claim for the critic: every sentence that cites nothing of its
// own cites all of the proposal's evidence refs, so the refs go straight in.
import { splitClaim } from "./text.ts";

export function claimWithCitations(content: string, refs: readonly string[]): string {
  const marks = refs.map((r) => `[${r}]`).join("");
  return splitClaim(content)
    .map((s) => `${s.text} ${(s.citations.length > 0 ? s.citations : []).map((c) => `[${c}]`).join("") || marks}`.trim())
    .join("\n");
}
