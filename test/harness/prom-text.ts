/** A small parser for the Prometheus text format, for assertions in tests. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Parses the text exposition format. Label values may hold any character, escaped as the format
 * says (`\\`, `\"`, `\n`) or raw (tabs, carriage returns, control characters, `}` and `,`);
 * a line is read character by character, so a process named `a\t\r\x01}` cannot confuse it.
 */
export function parseProm(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    out.push(parseLine(line));
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
