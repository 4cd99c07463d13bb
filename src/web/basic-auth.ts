import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { Semaphore } from '../semaphore';

/**
 * HTTP basic authentication against bcrypt hashes, as exporter-toolkit does it:
 * - an unknown user is checked against a dummy hash of the same cost, so that the answer takes
 *   as long as for a known user with a wrong password (no timing oracle for user names);
 * - bcrypt comparisons run one at a time (a flood of guesses cannot take every core);
 * - a successful check is remembered briefly (keyed by a digest of user, hash and password,
 *   never the password itself), so that a scrape every few seconds does not pay bcrypt each time.
 */

export type Compare = (password: string, hash: string) => Promise<boolean>;

export interface BasicAuthOptions {
  /** How long a successful check is remembered. */
  cacheTtlMs?: number;
  now?: () => number;
  /** The bcrypt comparison (tests count calls through it). */
  compare?: Compare;
}

const CACHE_MAX = 100;

export class BasicAuth {
  private readonly cache = new Map<string, number>();
  private readonly gate = new Semaphore(1);
  private readonly ttl: number;
  private readonly now: () => number;
  private readonly compare: Compare;

  /** `dummyHash` must have the cost of the configured hashes (see makeDummyHash). */
  constructor(private readonly users: Readonly<Record<string, string>>, private readonly dummyHash: string, o: BasicAuthOptions = {}) {
    this.ttl = o.cacheTtlMs ?? 60_000;
    this.now = o.now ?? Date.now;
    this.compare = o.compare ?? ((p, h) => bcrypt.compare(p, h));
  }

  get enabled(): boolean {
    return Object.keys(this.users).length > 0;
  }

  /** Checks an `Authorization` header value; true when it names a user with the right password. */
  async check(header: string | undefined): Promise<boolean> {
    const creds = parseBasic(header);
    if (creds === undefined) return false;
    const { user, password } = creds;
    const known = Object.prototype.hasOwnProperty.call(this.users, user);
    const hash = known ? this.users[user]! : this.dummyHash;
    const key = createHash('sha256').update(user).update('\0').update(hash).update('\0').update(password).digest('hex');
    const until = this.cache.get(key);
    if (until !== undefined) {
      if (until > this.now() && known) return true;
      this.cache.delete(key);
    }
    const release = await this.gate.acquire();
    let ok: boolean;
    try {
      ok = await this.compare(password, hash);
    } catch {
      ok = false;
    } finally {
      release();
    }
    if (!known) return false;
    if (ok) {
      if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, this.now() + this.ttl);
    }
    return ok;
  }
}

export function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  if (header === undefined) return undefined;
  const m = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header);
  if (m === null) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** A hash of a random password with the highest cost among `hashes` (so unknown users cost as much). */
export async function makeDummyHash(hashes: readonly string[]): Promise<string> {
  const cost = Math.max(4, ...hashes.map((h) => bcrypt.getRounds(h)));
  const random = createHash('sha256').update(String(Math.random())).update(String(process.hrtime.bigint())).digest('hex');
  return bcrypt.hash(random, cost);
}

