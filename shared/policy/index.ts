// The policy service's public surface (PRD §4.2): contracts and the typed statements.
export * from "./contracts.ts";
export * from "./statements.ts";
