// memory: the memory plane over HTTPS. The proposal gate and facts routes live in proposals.ts;
// retrieval (search, reindex, index status) joins this app.
import { createFunctionApp } from "../_shared/http.ts";
import { mountProposalRoutes } from "./proposals.ts";

export const app = createFunctionApp("memory");

mountProposalRoutes(app);
