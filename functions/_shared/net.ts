// Which resolver and transport the outbound guard uses inside a function. On Supabase (Deno) it is
// the Deno transport; the local gateway and tests run the same apps in Node and configure Node's
// (node/net/transport.ts) here, since a function module cannot import node-only code.
import type { Resolver, Transport } from "../../shared/net/guard.ts";
import { denoResolver, denoTransport } from "./deno-net.ts";

export interface FunctionNet {
  resolve: Resolver;
  transport: Transport;
}

let configured: FunctionNet | null = null;

export function configureNet(net: FunctionNet): void {
  configured = net;
}

export function functionNet(): FunctionNet {
  if (configured) return configured;
  if ((globalThis as { Deno?: unknown }).Deno) return { resolve: denoResolver, transport: denoTransport };
  throw new Error("actp: no outbound network transport configured (configureNet) outside Deno");
}
