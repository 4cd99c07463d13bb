/**
 * A small Markdown renderer for the runbook (the subset it is written in): `#`/`##`/`###`
 * headings (with an id: the heading's text in lower case, spaces as `-`, other punctuation
 * dropped, as GitHub makes anchors), paragraphs, `-` lists (continuation lines indented), pipe
 * tables, `code`, **bold**, *italic*, and HTML comments (dropped). Everything else is text:
 * every character of the input is escaped, so no input can inject markup.
 */
import { escapeHtml } from './page';

/** GitHub's anchor for a heading: `## StackwatchTargetDown` -> `stackwatchtargetdown`. */
export function headingId(text: string): string {
  return text.toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
}

/** Inline markup of one line of escaped-on-output text. */
export function inline(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text[i] === '`') {
      const end = text.indexOf('`', i + 1);
      if (end > i) {
        out += `<code>${escapeHtml(text.slice(i + 1, end))}</code>`;
        i = end + 1;
        continue;
      }
    }
    // Up to the next code span: bold and italic apply outside code only.
    const next = text.indexOf('`', i + 1);
    const until = next === -1 ? text.length : next;
    out += emphasis(escapeHtml(text.slice(i, until)));
    i = until;
  }
  return out;
}

function emphasis(escaped: string): string {
  return escaped
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/(^|[^\w*])\*([^*\s][^*]*?)\*(?![\w*])/g, '$1<em>$2</em>');
}

const cells = (line: string): string[] => line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());

export function renderMarkdown(md: string): string {
  const lines = md.replace(/<!--[\s\S]*?-->\n?/g, '').split('\n');
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '') {
      i++;
      continue;
    }
    const h = /^(#{1,3}) (.*)$/.exec(line);
    if (h !== null) {
      const level = h[1]!.length;
      out.push(`<h${level} id="${escapeHtml(headingId(h[2]!))}">${inline(h[2]!)}</h${level}>`);
      i++;
      continue;
    }
    if (line.startsWith('|') && /^\|[-| :]+\|$/.test(lines[i + 1]?.trim() ?? '')) {
      const head = cells(line).map((c) => `<th>${inline(c)}</th>`).join('');
      const rows: string[] = [];
      i += 2;
      while (i < lines.length && lines[i]!.startsWith('|')) {
        rows.push(`<tr>${cells(lines[i]!).map((c) => `<td>${inline(c)}</td>`).join('')}</tr>`);
        i++;
      }
      out.push(`<table><thead><tr>${head}</tr></thead><tbody>${rows.join('')}</tbody></table>`);
      continue;
    }
    if (/^- /.test(line)) {
      const items: string[] = [];
      while (i < lines.length && (/^- /.test(lines[i]!) || (/^ {2,}\S/.test(lines[i]!) && items.length > 0))) {
        if (/^- /.test(lines[i]!)) items.push(lines[i]!.slice(2));
        else items[items.length - 1] += ` ${lines[i]!.trim()}`;
        i++;
      }
      out.push(`<ul>${items.map((it) => `<li>${inline(it)}</li>`).join('')}</ul>`);
      continue;
    }
    const para: string[] = [];
    while (i < lines.length && lines[i]!.trim() !== '' && !/^(#{1,3} |- |\|)/.test(lines[i]!)) {
      para.push(lines[i]!.trim());
      i++;
    }
    if (para.length === 0) {
      // A line no block accepts (e.g. a lone `|`): shown as text.
      para.push(line.trim());
      i++;
    }
    out.push(`<p>${inline(para.join(' '))}</p>`);
  }
  return out.join('\n');
}
