// How actp names and configures pg-boss queues. The SQL side (actp_jobs_queue_defaults(),
// actp_jobs_queue_name()) holds the same values; tests/db/jobs-submit.test.ts keeps them equal.

export const DLQ_QUEUE = "actp.dlq";

/** pg-boss 12 createQueue options for every agent queue. */
export const ACTP_QUEUE_DEFAULTS = {
  policy: "standard",
  retryLimit: 2,
  retryDelay: 1,
  retryBackoff: true,
  retryDelayMax: 300,
  expireInSeconds: 900,
  heartbeatSeconds: 30,
  deadLetter: DLQ_QUEUE,
  notify: true,
} as const;

export function queueName(agentSlug: string): string {
  return `actp.agent.${agentSlug}`;
}

/** The agent slug of an actp queue name, or null for any other queue. */
export function agentOfQueue(queue: string): string | null {
  return queue.startsWith("actp.agent.") ? queue.slice("actp.agent.".length) : null;
}
