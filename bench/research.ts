// `npm run bench -- research`: the research firewall (PRD §4.15) on the labelled corpus
// (tests/support/research-corpus.ts): recall and false-positive rate of quarantine, per hiding
// technique, and pages per second. The peer beside it is the PRD's own baseline: tags stripped with
// a regular expression and the four RESEARCH_BLOCKED_PATTERNS searched case-insensitively, as
// research_security.py would do it.
import { processPage } from "../shared/research/pipeline.ts";
import { researchCorpus, type CorpusPage } from "../tests/support/research-corpus.ts";

const PRD_PATTERNS = [/ignore previous instructions/i, /you are now/i, /<\|system\|>/i, /TOOL_CALL:/i];
const prdBaseline = (html: string) => {
  const text = html.replace(/<[^>]+>/g, " ").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  return PRD_PATTERNS.some((p) => p.test(text));
};

interface Tally {
  tp: number;
  fn: number;
  fp: number;
  tn: number;
}
const tally = (): Tally => ({ tp: 0, fn: 0, fp: 0, tn: 0 });
const add = (t: Tally, c: CorpusPage, positive: boolean) => {
  if (c.injection) positive ? t.tp++ : t.fn++;
  else positive ? t.fp++ : t.tn++;
};
const pct = (n: number, d: number) => (d === 0 ? "  n/a" : `${((100 * n) / d).toFixed(1).padStart(5)}%`);

const corpus = researchCorpus();
const actp = tally();
const flaggedOnly = tally();
const prd = tally();
const perTechnique = new Map<string, Tally>();
// One warm-up pass (module and parser initialisation), then the timed pass.
for (const c of corpus.slice(0, 10)) await processPage({ url: "https://docs.example.com/x", body: c.html, contentType: "text/html" });
const t0 = performance.now();
for (const c of corpus) {
  const r = await processPage({ url: "https://docs.example.com/x", body: c.html, contentType: "text/html" });
  add(actp, c, r.quarantined);
  add(flaggedOnly, c, r.flagged);
  if (c.injection) {
    const t = perTechnique.get(c.technique) ?? tally();
    add(t, c, r.quarantined);
    perTechnique.set(c.technique, t);
  }
}
const actpMs = performance.now() - t0;
const t1 = performance.now();
for (const c of corpus) add(prd, c, prdBaseline(c.html));
const prdMs = performance.now() - t1;

const positives = actp.tp + actp.fn;
const negatives = actp.fp + actp.tn;
console.log(`research firewall on ${corpus.length} pages (${positives} injections, ${negatives} hard negatives)\n`);
console.log("                          recall   false positives   pages/s");
console.log(`actp (quarantined)        ${pct(actp.tp, positives)}   ${pct(actp.fp, negatives)}            ${(corpus.length / (actpMs / 1000)).toFixed(0)}`);
console.log(`actp (flagged, any)       ${pct(flaggedOnly.tp, positives)}   ${pct(flaggedOnly.fp, negatives)}`);
console.log(`PRD baseline (4 regexes)  ${pct(prd.tp, positives)}   ${pct(prd.fp, negatives)}            ${(corpus.length / (prdMs / 1000)).toFixed(0)}`);
console.log(`\nrecall ratio actp / PRD baseline: ${(actp.tp / Math.max(1, prd.tp)).toFixed(2)}x; speed ratio: ${(actpMs / prdMs).toFixed(0)}x slower (a real parser and ~50 rules per sentence)`);
console.log("\nrecall per hiding technique:");
for (const [t, v] of [...perTechnique.entries()].sort()) console.log(`  ${t.padEnd(20)} ${pct(v.tp, v.tp + v.fn)}  (${v.tp}/${v.tp + v.fn})`);
console.log("\n(aim: recall >= 90%, false positives <= 2%; the corpus is the one the rules were written against, so treat these as a regression guard, not a field estimate)");
