import {
  CHANGE_COLUMNS,
  type ComplianceSummary,
  changeCells,
  type EvidenceContext,
  type EvidenceReport,
  FINDING_COLUMNS,
  findingCells,
  policyInForce,
  summarizeCompliance,
  TOTAL_HEADER,
  totalCells,
} from "./compliance-summary.ts";
import { EVIDENCED_CONTROLS } from "./controls.ts";
import { verdictOf } from "./markdown.ts";

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Everything in the report comes from AWS or from tags anyone can set: escape it all. */
function esc(value: string | number | undefined | null): string {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function table(caption: string, header: string[], rows: (string | number | undefined)[][], cls = ""): string {
  const head = header.map((h) => `<th scope="col">${esc(h)}</th>`).join("");
  const body = rows.map((row) => `<tr>${row.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("\n");
  return `<table class="${cls}"><caption>${esc(caption)}</caption><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const STYLE = `
:root{--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--ink:#1f2328;--muted:#59636e;--line:#d1d9e0}
*{box-sizing:border-box}body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);margin:0 auto;max-width:72rem;padding:2rem}
h1{font-size:1.6rem;margin:0 0 .25rem}h2{font-size:1.15rem;margin:2rem 0 .5rem;border-bottom:1px solid var(--line);padding-bottom:.25rem}
.meta{color:var(--muted);margin:0 0 1rem}.verdict{font-weight:700;padding:.75rem 1rem;border-radius:6px;border:2px solid}
.verdict.ok{color:var(--ok);border-color:var(--ok);background:#dafbe1}.verdict.bad{color:var(--bad);border-color:var(--bad);background:#ffebe9}
.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}.card{flex:1 1 8rem;border:1px solid var(--line);border-radius:6px;padding:.75rem}
.card b{display:block;font-size:1.6rem}table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;font-size:.9rem}
caption{text-align:left;font-weight:600;padding:.25rem 0}th,td{border:1px solid var(--line);padding:.35rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f6f8fa}tr:nth-child(even) td{background:#fbfcfd}
@media print{body{padding:0;max-width:none;font-size:11px}h2{break-after:avoid}tr{break-inside:avoid}.verdict{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
`;

function cards(summary: ComplianceSummary): string {
  const t = summary.totals;
  const items: [string, number][] = [
    ["VPCs", t.vpcs],
    ["Compliant", t.compliant + t.remediated],
    ["Non-compliant", t.nonCompliant],
    ["Exempt", t.exempt],
    ["Not owned", t.notOwned],
    ["Failed", t.failed],
    ["Changes", summary.changes.length],
  ];
  return `<div class="cards">${items.map(([label, n]) => `<div class="card"><b>${n}</b>${esc(label)}</div>`).join("")}</div>`;
}

/**
 * `--format html`: the compliance report as one self-contained HTML file (inline CSS, no scripts, no
 * external requests) that reads well in a browser and prints on A4/Letter.
 */
export function renderHtml(report: EvidenceReport, context: EvidenceContext): string {
  const summary = summarizeCompliance(report);
  const verdict = verdictOf(summary);
  const ok = verdict.startsWith("COMPLIANT");
  const findings =
    summary.findings.length === 0
      ? "<p>None.</p>"
      : table(
          "Every VPC that is not compliant, failed, exempt, or owned by another account",
          [...FINDING_COLUMNS],
          summary.findings.map(findingCells),
          "findings",
        );
  const changes =
    summary.changes.length === 0
      ? "<p>No changes were made.</p>"
      : table(
          "Change records (also on the ledger bus when one is configured)",
          [...CHANGE_COLUMNS],
          summary.changes.map(changeCells),
        );
  const errors =
    summary.errors.length === 0
      ? ""
      : `<h2>Errors</h2><ul>${summary.errors.map((e) => `<li>${esc([e.account, e.region, e.vpcId].filter(Boolean).join(" "))} ${esc(e.message)}</li>`).join("")}</ul>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>VPC flow logging compliance report ${esc(context.generatedAt)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>VPC flow logging compliance report</h1>
<p class="meta">Generated ${esc(context.generatedAt)} by ${esc(context.tool.name)} ${esc(context.tool.version)} · mode ${esc(summary.scope.mode)} · accounts ${esc(summary.scope.accounts.join(", "))} · regions ${esc(summary.scope.regions.join(", "))}</p>
<p class="verdict ${ok ? "ok" : "bad"}" id="verdict">${esc(verdict)}</p>
${cards(summary)}
<h2>Controls evidenced</h2>
${table(
  "As AWS Security Hub maps control EC2.6",
  ["Framework", "Control", "Title"],
  EVIDENCED_CONTROLS.map((c) => [c.framework, c.id, c.title]),
)}
<h2>Policy in force</h2>
${table("Settings that decide compliance", ["Setting", "Value"], policyInForce(context.policy))}
<h2>Totals</h2>
${table(
  "Per account",
  ["Account", ...TOTAL_HEADER],
  summary.byAccount.map((t) => [t.account, ...totalCells(t)]),
)}
${table(
  "Per region",
  ["Account", "Region", ...TOTAL_HEADER],
  summary.byRegion.map((t) => [t.account, t.region, ...totalCells(t)]),
)}
<h2>Non-compliant, exempt and not-owned VPCs</h2>
${findings}
<h2>Change records of this run</h2>
${changes}
${errors}
</body>
</html>
`;
}
