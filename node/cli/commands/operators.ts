// `actp operators token --role operator|viewer [--sub <uuid>] [--email <e>]`: a JWT for an actp
// operator or viewer, signed with this data directory's secret (or ACTP_JWT_SECRET), for the local
// dashboard, curl and tests. On a Supabase project, grant the role to a real user instead:
//   supabase.auth.admin.updateUserById(id, { app_metadata: { actp_role: "operator" } })
// and that user's own access token carries it.
import type { Command } from "commander";
import { z } from "zod";
import { devConfigFromEnv } from "../../config.ts";
import { loadProjectKeys } from "../../keys.ts";
import { ActpRole } from "../../../shared/auth/roles.ts";
import { OperatorTokenRequest, signOperatorToken } from "../../../shared/auth/operator-token.ts";
import { ActpError } from "../../../shared/errors.ts";
import { fail } from "../db.ts";

const Options = z.strictObject({
  role: ActpRole,
  sub: z.uuid({ error: "--sub must be a UUID (a Supabase user id)" }).optional(),
  email: z.email({ error: "--email must be an email address" }).optional(),
  ttl: z.coerce.number().int().min(60).max(366 * 24 * 3600).default(24 * 3600),
  dataDir: z.string().min(1).optional(),
  json: z.boolean().optional(),
});

export function register(program: Command): void {
  const operators = program.command("operators").description("operators and viewers of actp (who may read and act)");
  operators
    .command("token")
    .description("print a JWT for an operator (read and act) or a viewer (read), signed with the data directory's secret")
    .requiredOption("--role <role>", "operator or viewer")
    .option("--sub <uuid>", "the user id the token names (default: a new random one)")
    .option("--email <email>", "the email the token carries (recorded beside the id when this caller acts)")
    .option("--ttl <seconds>", "lifetime in seconds (default one day)")
    .option("--data-dir <dir>", "data directory whose secret signs it (default .actp, or ACTP_DATA_DIR; ACTP_JWT_SECRET wins)")
    .option("--json", "print { token, sub, role, expires_at }")
    .action(async (raw: Record<string, unknown>) => {
      try {
        const r = Options.safeParse(raw);
        if (!r.success) throw new ActpError("cli.invalid_options", r.error.issues.map((i) => `--${String(i.path[0])}: ${i.message}`).join("; "));
        const o = r.data;
        const keys = await loadProjectKeys(devConfigFromEnv({ dataDir: o.dataDir }).dataDir);
        const request: OperatorTokenRequest = { role: o.role, sub: o.sub, email: o.email, ttl_seconds: o.ttl };
        const t = await signOperatorToken(keys.jwtSecret, request);
        if (o.json) console.log(JSON.stringify(t, null, 2));
        else {
          console.log(t.token);
          console.error(`${t.role} ${t.sub}${o.email ? ` <${o.email}>` : ""}, valid until ${t.expires_at}`);
        }
      } catch (err) {
        fail(err);
      }
    });
}
