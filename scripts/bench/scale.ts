import { sectionName } from "./decision.ts";
import { type Row, row } from "./report.ts";
import { summary } from "./stats.ts";
import { interleave, type Runtime } from "./timing.ts";

const DOCUMENTS = ["rules-1", "rules-10", "rules-100", "rules-1000", "userids-10000"];
const LABELS: Record<string, string> = {
  "rules-1": "1 targeting rule",
  "rules-10": "10 targeting rules",
  "rules-100": "100 targeting rules",
  "rules-1000": "1,000 targeting rules",
  "userids-10000": "10,000-entry user-ID list",
  realistic: "realistic document (10 rules)",
};
/** Documents whose read costs (new revision, unchanged refresh) are shown next to a bare JSON.parse. */
const READ_DOCUMENTS = ["realistic", "rules-1000", "userids-10000"];

/**
 * Rules scale: the decision path with ever more targeting rules (none matching, so all are
 * evaluated) and with one 10,000-entry user-ID list; then what reading such a document costs.
 */
export async function measureScale(runtime: Runtime, rounds: number, seconds: number) {
  const perRequest = await interleave(
    runtime,
    Object.fromEntries([["passthrough", "handler=passthrough"], ...DOCUMENTS.map((doc) => [doc, `handler=decision&doc=${doc}`])]),
    rounds,
    seconds,
  );
  const base = summary(perRequest.passthrough!.samples);
  const section = sectionName("Rules scale: decision path per request", runtime);
  const rows: Row[] = [];
  for (const doc of DOCUMENTS) {
    const s = summary(perRequest[doc]!.samples);
    rows.push(row(section, `${LABELS[doc]}, median`, s.median, "µs", { figure: "passthrough", value: base.median }));
    rows.push(row(section, `${LABELS[doc]}, p99`, s.p99, "µs", { figure: "passthrough", value: base.p99 }));
  }

  const reads = await interleave(
    runtime,
    Object.fromEntries(
      READ_DOCUMENTS.flatMap((doc) => ["json", "revision", "refresh"].map((handler) => [`${handler} ${doc}`, `handler=${handler}&doc=${doc}`])),
    ),
    Math.max(1, Math.floor(rounds / 2)),
    seconds,
  );
  const readSection = sectionName("Rules scale: reading the rules document (an isolate refreshes every RULES_TTL_MS)", runtime);
  const median = (name: string) => summary(reads[name]!.samples).median;
  for (const doc of READ_DOCUMENTS) {
    const revision = median(`revision ${doc}`);
    rows.push(row(readSection, `${LABELS[doc]}: new revision (parse, validate, compile)`, revision, "µs", { figure: "JSON.parse alone", value: median(`json ${doc}`) }));
    rows.push(row(readSection, `${LABELS[doc]}: refresh, same document`, median(`refresh ${doc}`), "µs", { figure: "new revision", value: revision }));
  }
  return { rows, raw: { perRequest, reads } };
}
