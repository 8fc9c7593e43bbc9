// Incident mode contracts (PRD §4.10): the bodies the `incidents` function and Telegram's /ack share.
import { z } from "zod";

export const PlatformMode = z.enum(["normal", "degraded", "incident"]);
export type PlatformMode = z.infer<typeof PlatformMode>;

const Note = z.string().trim().min(1).max(2000);

/** POST /incidents/declare: the mode to enter and why. */
export const DeclareBody = z.strictObject({
  mode: z.enum(["degraded", "incident"]).default("incident"),
  reason: Note.describe("what is wrong, in a sentence"),
  note: Note.optional(),
});
export type DeclareBody = z.infer<typeof DeclareBody>;

/** POST /incidents/acknowledge: silences the open incident's repeat alerts. */
export const AcknowledgeBody = z.strictObject({
  note: Note.optional(),
  incident_id: z.guid().optional().describe("the incident the caller saw: 409 when another one is open"),
});
export type AcknowledgeBody = z.infer<typeof AcknowledgeBody>;

/** POST /incidents/resolve: a note is required. */
export const ResolveBody = z.strictObject({
  note: Note,
  incident_id: z.guid().optional().describe("the incident the caller saw: 409 when another one is open"),
});
export type ResolveBody = z.infer<typeof ResolveBody>;

export const HistoryQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export type HistoryQuery = z.infer<typeof HistoryQuery>;

export interface DetectorReading {
  name: string;
  description: string;
  enabled: boolean;
  fire_above: number;
  clear_at_most: number;
  forces_incident: boolean;
  firing: boolean | null;
  value: number | null;
  firing_since: string | null;
  evaluated_at: string | null;
  evidence: Record<string, unknown>;
}

export interface IncidentRecord {
  id: string;
  declared_at: string;
  trigger_reason: string;
  trigger_data: Record<string, unknown>;
  resolved_at: string | null;
  resolution_note: string | null;
  source: "detector" | "manual";
  mode: "degraded" | "incident";
  peak_mode: "degraded" | "incident";
  declared_by: string;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  resolved_by: string | null;
  transitions?: Array<{ id: number; from_mode: PlatformMode; to_mode: PlatformMode; actor: string; reason: string; evidence: Record<string, unknown>; at: string }>;
}

export interface PlatformStatus {
  mode: PlatformMode;
  reason: string | null;
  changed_at: string;
  changed_by: string | null;
  manual: boolean;
  calm_since: string | null;
  cooldown_seconds: number;
  last_tick_at: string | null;
  incident: IncidentRecord | null;
  detectors: DetectorReading[];
}
