// The API documents itself: every function folder's routes are declared with route() (so its
// OpenAPI document is generated from the contracts that validate its requests), the document is
// served at /<name>/openapi.json, and docs/api/ is what `npm run gen:api-docs` writes.
import { describe, expect, it } from "vitest";
import { checkApiDocs, functionNames, loadFunctionApp } from "../../scripts/gen-api-docs.ts";
import { functionDoc } from "../../functions/_shared/openapi.ts";
import { isErrorCode } from "../../shared/errors/catalog.ts";

const names = functionNames();

describe("the API reference", () => {
  it("covers every function folder", () => {
    expect(names).toEqual(expect.arrayContaining(["agents", "events", "health", "jobs", "policy"]));
  });

  it("docs/api is what npm run gen:api-docs writes (run it after changing a route or a contract)", async () => {
    const report = await checkApiDocs();
    expect(report.drift).toEqual([]);
  });

  for (const name of names) {
    describe(name, () => {
      it("declares every route it serves with route(), so none is missing from its document", async () => {
        const app = await loadFunctionApp(name);
        const doc = functionDoc(app);
        expect(doc, `functions/${name}/app.ts must be built with createFunctionApp`).toBeDefined();
        const declared = new Set(doc!.routes.map((r) => `${r.method.toUpperCase()} /${name}${r.path === "/" ? "" : r.path}`));
        declared.add(`GET /${name}/openapi.json`);
        const served = new Set(app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`));
        const undeclared = [...served].filter((r) => !declared.has(r));
        expect(undeclared, "declare these with route() from functions/_shared/routes.ts").toEqual([]);
        for (const r of doc!.routes) for (const c of r.errors ?? []) expect(isErrorCode(c), c).toBe(true);
      });

      it("serves its OpenAPI 3.1 document at /openapi.json without a key", async () => {
        const app = await loadFunctionApp(name);
        const res = await app.request(`/${name}/openapi.json`);
        expect(res.status).toBe(200);
        const body = (await res.json()) as { openapi: string; paths: Record<string, unknown>; info: { title: string } };
        expect(body.openapi).toBe("3.1.0");
        expect(Object.keys(body.paths).length).toBeGreaterThan(0);
        for (const p of Object.keys(body.paths)) expect(p.startsWith(`/${name}`)).toBe(true);
      });
    });
  }
});
