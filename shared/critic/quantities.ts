// Numbers, dates, percentages and units, extracted into comparable values: "5 km", "5km" and
// "5 kilometres" are one quantity; "5 km" and "5 m", or "5 km" and "50 km", are not. No unit
// conversion: a claim restates its source, it does not convert it.
import { normalizeTypography } from "./text.ts";

export type Quantity =
  | { kind: "number"; value: number; unit: string | null; raw: string }
  | { kind: "date"; year: number | null; month: number | null; day: number | null; raw: string }
  | { kind: "literal"; value: string; raw: string };

const UNIT_GROUPS: Record<string, string[]> = {
  "%": ["%", "percent", "per cent", "pct", "percentage points", "pp"],
  km: ["km", "kilometer", "kilometers", "kilometre", "kilometres"],
  m: ["m", "meter", "meters", "metre", "metres"],
  cm: ["cm", "centimeter", "centimeters", "centimetre", "centimetres"],
  mm: ["mm", "millimeter", "millimeters", "millimetre", "millimetres"],
  mi: ["mi", "mile", "miles"],
  ft: ["ft", "foot", "feet"],
  in: ["inch", "inches"],
  kg: ["kg", "kilogram", "kilograms", "kilo", "kilos"],
  g: ["g", "gram", "grams"],
  mg: ["mg", "milligram", "milligrams"],
  lb: ["lb", "lbs", "pound", "pounds"],
  t: ["tonne", "tonnes", "ton", "tons"],
  ms: ["ms", "millisecond", "milliseconds", "msec"],
  us: ["µs", "μs", "microsecond", "microseconds"],
  ns: ["ns", "nanosecond", "nanoseconds"],
  s: ["s", "sec", "secs", "second", "seconds"],
  min: ["min", "mins", "minute", "minutes"],
  h: ["h", "hr", "hrs", "hour", "hours"],
  day: ["day", "days"],
  week: ["week", "weeks", "wk", "wks"],
  month: ["month", "months"],
  year: ["year", "years", "yr", "yrs"],
  b: ["byte", "bytes"],
  kb: ["kb", "kilobyte", "kilobytes"],
  mb: ["mb", "megabyte", "megabytes"],
  gb: ["gb", "gigabyte", "gigabytes"],
  tb: ["tb", "terabyte", "terabytes"],
  kib: ["kib", "kibibyte", "kibibytes"],
  mib: ["mib", "mebibyte", "mebibytes"],
  gib: ["gib", "gibibyte", "gibibytes"],
  hz: ["hz", "hertz"],
  khz: ["khz", "kilohertz"],
  mhz: ["mhz", "megahertz"],
  ghz: ["ghz", "gigahertz"],
  w: ["w", "watt", "watts"],
  kw: ["kw", "kilowatt", "kilowatts"],
  mw: ["mw", "megawatt", "megawatts"],
  gw: ["gw", "gigawatt", "gigawatts"],
  kwh: ["kwh", "kilowatt-hour", "kilowatt-hours"],
  v: ["v", "volt", "volts"],
  c: ["°c", "celsius", "degrees celsius"],
  f: ["°f", "fahrenheit", "degrees fahrenheit"],
  usd: ["usd", "dollar", "dollars", "$", "us$"],
  eur: ["eur", "euro", "euros", "€"],
  gbp: ["gbp", "£"],
  jpy: ["jpy", "yen", "¥"],
  thousand: ["thousand", "k"],
  million: ["million", "millions", "mn"],
  billion: ["billion", "billions", "bn"],
  trillion: ["trillion", "trillions"],
  x: ["x", "times", "×", "fold"],
  rps: ["rps", "requests per second", "req/s"],
  tokens: ["token", "tokens"],
};
const UNIT_OF = new Map<string, string>();
for (const [canon, aliases] of Object.entries(UNIT_GROUPS)) for (const a of aliases) UNIT_OF.set(a, canon);
const UNIT_ALTS = [...UNIT_OF.keys()].sort((a, b) => b.length - a.length).map((a) => a.replace(/[.*+?^${}()|[\]\\/$]/g, "\\$&"));

const MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];
const MONTH_ALT = "(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)";
const monthOf = (m: string) => MONTHS.findIndex((full) => full.startsWith(m.toLowerCase().slice(0, 3))) + 1;

const DATE_PATTERNS: { re: RegExp; parts: (m: RegExpExecArray) => [number | null, number | null, number | null] }[] = [
  { re: /\b(\d{4})-(\d{1,2})-(\d{1,2})\b/gi, parts: (m) => [+m[1]!, +m[2]!, +m[3]!] },
  { re: new RegExp(`\\b${MONTH_ALT}\\.?\\s+(\\d{1,2})(?:st|nd|rd|th)?,?\\s+(\\d{4})\\b`, "gi"), parts: (m) => [+m[3]!, monthOf(m[1]!), +m[2]!] },
  { re: new RegExp(`\\b(\\d{1,2})(?:st|nd|rd|th)?\\s+(?:of\\s+)?${MONTH_ALT}\\.?,?\\s+(\\d{4})\\b`, "gi"), parts: (m) => [+m[3]!, monthOf(m[2]!), +m[1]!] },
  { re: new RegExp(`\\b${MONTH_ALT}\\.?\\s+(\\d{4})\\b`, "gi"), parts: (m) => [+m[2]!, monthOf(m[1]!), null] },
  { re: new RegExp(`\\b${MONTH_ALT}\\.?\\s+(\\d{1,2})(?:st|nd|rd|th)?\\b(?![.,]?\\d)`, "gi"), parts: (m) => [null, monthOf(m[1]!), +m[2]!] },
];

// A number: grouped thousands or plain digits, an optional fraction; a dotted run of 3+ parts is a
// version (compared literally). Preceded by a currency sign, followed by an optional unit.
const NUMBER_RE = new RegExp(
  String.raw`(?<![\p{L}\p{N}_.])(?:v(?=\d))?(US\$|\$|€|£|¥)?\s?(\d+(?:\.\d+){2,}|\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?:(?:st|nd|rd|th)\b)?` +
    String.raw`(?:\s?(${UNIT_ALTS.join("|")})(?![\p{L}\p{N}]))?`,
  "giu",
);

/** Every number, date, percentage and unit in s, in order of appearance. */
export function quantitiesIn(s: string): Quantity[] {
  let text = normalizeTypography(s);
  const out: Quantity[] = [];
  for (const p of DATE_PATTERNS) {
    text = text.replace(p.re, (...args) => {
      const m = args.slice(0, -2) as unknown as RegExpExecArray;
      const [year, month, day] = p.parts(m);
      out.push({ kind: "date", year, month, day, raw: m[0] });
      return " ".repeat(m[0].length); // consumed: its digits are not numbers of their own
    });
  }
  for (const m of text.matchAll(NUMBER_RE)) {
    const [raw, currency, digits, unitRaw] = m;
    if ((digits!.match(/\./g) ?? []).length >= 2) {
      out.push({ kind: "literal", value: digits!, raw: raw.trim() });
      continue;
    }
    const value = Number(digits!.replace(/,/g, ""));
    const unit = currency ? UNIT_OF.get(currency.toLowerCase()) ?? null : unitRaw ? UNIT_OF.get(unitRaw.toLowerCase()) ?? null : null;
    out.push({ kind: "number", value, unit, raw: raw.trim() });
  }
  return out;
}

// Units whose loss changes what a number means: "12%" restated as "12" (runners) is a different claim.
const MEANING_UNITS = new Set(["%", "usd", "eur", "gbp", "jpy", "thousand", "million", "billion", "trillion"]);

/** Does a quantity of the claim appear in the evidence's quantities? */
export function quantityFound(q: Quantity, inEvidence: readonly Quantity[]): boolean {
  switch (q.kind) {
    case "literal":
      return inEvidence.some((e) => e.kind === "literal" && e.value === q.value);
    case "date":
      return inEvidence.some(
        (e) =>
          e.kind === "date" &&
          (q.year === null || e.year === q.year) &&
          (q.month === null || e.month === q.month) &&
          (q.day === null || e.day === q.day),
      );
    case "number":
      return inEvidence.some((e) => {
        if (e.kind === "number") return e.value === q.value && (e.unit === q.unit || (q.unit === null && !MEANING_UNITS.has(e.unit ?? "")));
        // A bare year in the claim may be the year of a full date in the evidence.
        if (e.kind === "date") return q.unit === null && e.year === q.value;
        return false;
      });
  }
}
