#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so `npx actp ...` works without a build step.
import { register } from "tsx/esm/api";

register();
await import("../node/cli/main.ts");
