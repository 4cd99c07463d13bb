/** A small parser for the Prometheus text format, for assertions in tests. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed exposition: samples, and each family's HELP (unescaped) and TYPE. */
export interface PromText {
  samples: Sample[];
  help: Map<string, string>;
  type: Map<string, string>;
}

/**
 * Parses the text exposition format. Label values may hold any character, escaped as the format
 * says (`\\`, `\"`, `\n`) or raw (tabs, carriage returns, control characters, `}` and `,`);
 * a line is read character by character, so a process named `a\t\r\x01}` cannot confuse it.
 * HELP text may hold any character, with `\\` and `\n` escaped. Any other escape is an error.
 */
export function parsePromText(text: string): PromText {
  const out: PromText = { samples: [], help: new Map(), type: new Map() };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      // As Prometheus reads it: blanks after the name are skipped, the rest is the text (raw
      // carriage returns and control characters included).
      const meta = /^#[ \t]+(HELP|TYPE)[ \t]+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:[ \t]+([^]*))?$/.exec(line);
      if (meta === null) continue; // a plain comment
      const [, kind, name, rest = ''] = meta;
      if (kind === 'HELP') out.help.set(name!, unescapeHelp(rest, line));
      else if (/^(counter|gauge|histogram|summary|untyped)$/.test(rest.trim())) out.type.set(name!, rest.trim());
      else throw new Error(`unparseable metrics line (bad TYPE): ${JSON.stringify(line)}`);
      continue;
    }
    out.samples.push(parseLine(line));
  }
  return out;
}

/** The samples of an exposition (see parsePromText). */
export function parseProm(text: string): Sample[] {
  return parsePromText(text).samples;
}

function unescapeHelp(raw: string, line: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = raw[i + 1];
    if (e === 'n') out += '\n';
    else if (e === '\\') out += '\\';
    else throw new Error(`unparseable metrics line (bad escape \\${e ?? ''} in HELP): ${JSON.stringify(line)}`);
    i++;
  }
  return out;
}

function parseLine(line: string): Sample {
  const fail = (why: string): never => {
    throw new Error(`unparseable metrics line (${why}): ${JSON.stringify(line)}`);
  };
  const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? fail('no metric name');
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    while (line[i] !== '}') {
      const label = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i))?.[0] ?? fail(`label name expected at ${i}`);
      i += label.length;
      if (line.slice(i, i + 2) !== '="') fail(`="" expected after ${label}`);
      i += 2;
      let value = '';
      for (;;) {
        if (i >= line.length) fail('unterminated label value');
        const c = line[i]!;
        if (c === '"') break;
        if (c === '\\') {
          const e = line[i + 1];
          if (e === 'n') value += '\n';
          else if (e === '\\' || e === '"') value += e;
          else fail(`bad escape \\${e ?? ''}`);
          i += 2;
        } else {
          value += c;
          i++;
        }
      }
      i++;
      labels[label] = value;
      if (line[i] === ',') i++;
      else if (line[i] !== '}') fail(`, or } expected at ${i}`);
    }
    i++;
  }
  const rest = line.slice(i).trim().split(/\s+/);
  const raw = rest[0] ?? fail('no value');
  // Values are Go floats: NaN and Inf in any letter case (prom-client writes `Nan`).
  const special: Record<string, number> = { '+inf': Infinity, inf: Infinity, '-inf': -Infinity, nan: NaN };
  const value = special[raw.toLowerCase()] ?? Number(raw);
  if (Number.isNaN(value) && raw.toLowerCase() !== 'nan') fail(`bad value ${raw}`);
  return { name, labels, value };
}

/** Scraped metrics with lookups by name and label subset. */
export class Metrics {
  constructor(readonly samples: Sample[]) {}

  static parse(text: string): Metrics {
    return new Metrics(parseProm(text));
  }

  all(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  }

  /** The value of the one series matching; undefined when none. Throws when several match. */
  get(name: string, labels: Record<string, string> = {}): number | undefined {
    const found = this.all(name, labels);
    if (found.length > 1) throw new Error(`${found.length} series of ${name} match ${JSON.stringify(labels)}`);
    return found[0]?.value;
  }
}

export async function scrape(baseUrl: string): Promise<Metrics> {
  const res = await fetch(`${baseUrl}/metrics`);
  if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
  return Metrics.parse(await res.text());
}
