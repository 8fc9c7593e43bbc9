// memory: the memory plane over HTTPS. The proposal gate and facts routes live in proposals.ts;
// retrieval (search, reindex, index status) joins this app.
import { createFunctionApp } from "../_shared/http.ts";
import { mountProposalRoutes } from "./proposals.ts";

export const app = createFunctionApp("memory", {
  title: "actp memory",
  description:
    "The memory plane: proposals for semantic and procedural memory pass the gate (critic score and source authority) before they become facts; " +
    "facts are bitemporal, one current fact per key, older ones kept.",
});

mountProposalRoutes(app);
