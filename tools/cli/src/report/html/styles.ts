/**
 * The page's only stylesheet, inlined so report.html needs nothing but its figures folder.
 * Colours match svg/theme.ts. No `<` or `&` here: the page stays well-formed XML.
 */
export const STYLES = `
:root {
  --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --panel: #ffffff; --page: #f5f7fa;
  --accent: #3b6fd4; --good: #2f9e6f; --bad: #d64545; --good-bg: #e3f5ec; --bad-bg: #fbe9e9;
}
* { box-sizing: border-box; }
html { background: var(--page); }
body {
  margin: 0; color: var(--ink); font: 14px/1.5 system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif;
  -webkit-font-smoothing: antialiased;
}
main { max-width: 1180px; margin: 0 auto; padding: 32px 28px 56px; }
header.top { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: 8px 24px; margin-bottom: 20px; }
h1 { font-size: 24px; margin: 0; letter-spacing: -0.01em; }
h1 .brand { color: var(--accent); }
.meta { color: var(--muted); font-size: 13px; }
.meta span + span::before { content: '\\00b7'; margin: 0 8px; color: var(--line); }
h2 { font-size: 18px; margin: 0 0 4px; }
.lede { color: var(--muted); margin: 0 0 16px; max-width: 80ch; }
section { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 22px 24px; margin: 0 0 20px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(165px, 1fr)); gap: 14px; margin: 0 0 20px; }
.tile { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; }
.tile .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: 0.06em; }
.tile .value { font-size: 22px; font-weight: 650; margin-top: 2px; font-variant-numeric: tabular-nums; }
.tile .detail { color: var(--muted); font-size: 12.5px; overflow-wrap: anywhere; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr)); gap: 16px; margin: 8px 0 16px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 8px; padding: 8px; background: #fff; }
figure img { display: block; width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 12.5px; padding: 6px 6px 2px; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; font-size: 13px; }
caption { text-align: left; font-weight: 600; padding: 0 0 8px; }
th, td { padding: 7px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; background: #fafbfc; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.best { font-weight: 700; }
tr.kept td { background: #eef3fc; }
tr.reference td { color: var(--muted); font-style: italic; }
tr.kept td:first-child { box-shadow: inset 3px 0 0 var(--accent); }
code, .digest { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 999px; font-weight: 650; font-size: 13px; }
.badge.promoted { color: var(--good); background: var(--good-bg); }
.badge.rejected { color: var(--bad); background: var(--bad-bg); }
.columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(360px, 1fr)); gap: 20px; align-items: start; }
.columns .figures { margin: 0; grid-template-columns: 1fr; }
h3 { font-size: 14px; margin: 20px 0 8px; }
h3:first-child { margin-top: 0; }
h3 + dl, h3 + .table-wrap { margin-bottom: 16px; }
ul.reasons { margin: 6px 0 0; padding-left: 20px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.none { color: var(--muted); font-style: italic; }
footer { color: var(--muted); font-size: 12px; text-align: center; margin-top: 28px; }
@media print { html { background: #fff; } section, .tile { break-inside: avoid; } }
`;
