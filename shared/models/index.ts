export * from "./schema.ts";
export * from "./sql.ts";
export * from "./cost.ts";
