// What every embedder is: an identity (stored with each index generation) and a batch call.
import type { EmbedderIdentity } from "../contracts.ts";

export type { EmbedderIdentity };

export interface Embedder {
  readonly identity: EmbedderIdentity;
  /** One vector per text, in order, each of identity.dimensions numbers. */
  embed(texts: readonly string[], signal?: AbortSignal): Promise<number[][]>;
}

export class EmbedderError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "EmbedderError";
    this.code = code;
  }
}
