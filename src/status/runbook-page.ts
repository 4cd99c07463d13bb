/**
 * GET /runbook: the bundle's runbook as HTML, one section per alert with the anchor the alerts'
 * runbook_url annotations point at (`/runbook#stackwatchtargetdown`). Rendered once, from the
 * same source as docs/runbook.md and `stackwatch bundle`'s runbook.md.
 */
import { type BundleConfig, bundleConfig } from '../bundle/bundle-config';
import { runbookMarkdown } from '../bundle/runbook';
import { renderMarkdown } from './markdown';
import { escapeHtml } from './page';

const CSS = `body{font-family:system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#222}
code{background:#f2f2f2;padding:0 .2em;border-radius:3px;font-size:.92em;word-break:break-word}
table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #ccc;padding:.3rem .5rem;vertical-align:top;text-align:left}
h2{border-top:1px solid #ddd;padding-top:1rem;margin-top:2rem}h2:target{background:#fff6d5}
nav a{margin-right:.6rem}`;

/** The runbook page for a bundle config (the exporter serves the defaults'). */
export function renderRunbookPage(cfg: BundleConfig = bundleConfig, version = ''): string {
  const md = runbookMarkdown(cfg);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>stackwatch runbook</title><style>${CSS}</style></head><body>
<nav><a href="./">← status</a>${version !== '' ? ` <span>stackwatch ${escapeHtml(version)}</span>` : ''}</nav>
${renderMarkdown(md)}
</body></html>
`;
}
