//! The report's one inline stylesheet: Okabe–Ito colours (reference blue and outlined,
//! current orange and solid, so colour is never the only cue), a dark variant through
//! `prefers-color-scheme`, and a print variant through `@media print`. No `url()`, no
//! `@import`: the page fetches nothing.

/// The `<style>` element's content.
pub const CSS: &str = r#"
:root { --fg: #1b1b1b; --bg: #ffffff; --muted: #5c5c5c; --rule: #d0d0d0; --ref: #0072B2;
  --cur: #E69F00; --bad: #D55E00; --warn: #B8860B; --ok: #009E73; --panel: #f6f6f6; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e8e8e8; --bg: #16181c; --muted: #a8a8a8; --rule: #3a3d44; --ref: #56B4E9;
    --cur: #E69F00; --bad: #F07A3A; --warn: #F0E442; --ok: #2BC59A; --panel: #20232a; }
}
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
  background: var(--bg); margin: 0 auto; max-width: 1180px; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; }
h3 { font-size: 15px; margin: 0 0 6px; overflow-wrap: anywhere; }
code, .num { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
.num, table.bins td + td + td, table.tests td + td + td { text-align: right; white-space: nowrap; }
table.tests td:last-child { text-align: left; }
.verdict { display: inline-block; padding: 2px 10px; border-radius: 4px; font-weight: 700;
  border: 2px solid currentColor; }
.sev-critical { color: var(--bad); } .sev-warning { color: var(--warn); } .sev-none { color: var(--ok); }
.muted { color: var(--muted); }
a { color: var(--ref); }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border-bottom: 1px solid var(--rule); padding: 4px 8px; vertical-align: middle; text-align: left; }
th { font-weight: 600; color: var(--muted); font-size: 12.5px; }
td.name { overflow-wrap: anywhere; max-width: 280px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; overflow-wrap: anywhere; }
section.column { border: 1px solid var(--rule); border-radius: 6px; padding: 12px 14px; margin: 14px 0;
  background: var(--panel); break-inside: avoid; }
.plots { display: flex; flex-wrap: wrap; gap: 18px; }
.legend { font-size: 12.5px; color: var(--muted); }
.swatch { display: inline-block; width: 12px; height: 12px; vertical-align: -2px; margin: 0 4px 0 10px; }
.swatch.ref { border: 2px solid var(--ref); }
.swatch.cur { background: var(--cur); border: 2px solid var(--cur); }
svg { overflow: visible; }
svg text { fill: var(--muted); font-size: 10px; font-family: system-ui, sans-serif; }
svg .axis { stroke: var(--rule); stroke-width: 1; }
svg rect.cur, svg .cur-fill { fill: var(--cur); }
svg rect.ref { fill: var(--ref); fill-opacity: 0.14; stroke: var(--ref); stroke-width: 1.5; }
svg .ref-line { stroke: var(--ref); fill: none; stroke-width: 2; stroke-dasharray: 5 3; }
svg .cur-line { stroke: var(--cur); fill: none; stroke-width: 2; }
svg .ks { stroke: var(--bad); stroke-width: 2; }
.tag { font-size: 11px; padding: 0 5px; border-radius: 3px; border: 1px solid currentColor; margin-left: 4px; }
.panel-slot:empty { display: none; }
table.model { width: auto; min-width: 50%; } table.model td.num { text-align: right; }
nav { margin: 0 0 10px; }
.timelines { display: grid; grid-template-columns: repeat(auto-fill, minmax(400px, 1fr)); gap: 0 14px; }
.timelines section.column { margin: 6px 0; }
svg .floor { stroke: var(--warn); stroke-width: 1.5; stroke-dasharray: 6 3; }
svg .critical-floor { stroke: var(--bad); stroke-width: 1.5; }
svg line.fired { stroke: var(--bad); stroke-width: 2; }
svg line.resolved { stroke: var(--ok); stroke-width: 2; stroke-dasharray: 2 2; }
span.fired { color: var(--bad); } span.resolved { color: var(--ok); }
svg.spark rect.ref { fill: var(--ok); stroke: none; }
@media print {
  :root { --fg: #000; --bg: #fff; --muted: #333; --rule: #999; --panel: #fff; }
  body { max-width: none; padding: 0; font-size: 11px; }
  section.column, tr { break-inside: avoid; }
}
"#;
