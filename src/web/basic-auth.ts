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

/** ok: right credentials; denied: none, wrong or unknown; busy: too many checks already waiting. */
export type AuthResult = 'ok' | 'denied' | 'busy';

export interface BasicAuthOptions {
  /** How long a successful check is remembered. */
  cacheTtlMs?: number;
  now?: () => number;
  /** The bcrypt comparison (tests count calls through it). */
  compare?: Compare;
  /** Checks allowed to wait for bcrypt; beyond that a request is answered 429 at once. */
  maxWaiting?: number;
}

const CACHE_MAX = 100;

export class BasicAuth {
  private readonly cache = new Map<string, number>();
  private readonly gate = new Semaphore(1);
  private readonly ttl: number;
  private readonly now: () => number;
  private readonly compare: Compare;
  private readonly maxWaiting: number;
  private waiting = 0;

  /** `dummyHash` must have the cost of the configured hashes (see makeDummyHash). */
  constructor(private readonly users: Readonly<Record<string, string>>, private readonly dummyHash: string, o: BasicAuthOptions = {}) {
    this.ttl = o.cacheTtlMs ?? 60_000;
    this.now = o.now ?? Date.now;
    this.compare = o.compare ?? ((p, h) => bcrypt.compare(p, h));
    this.maxWaiting = o.maxWaiting ?? 32;
  }

  get enabled(): boolean {
    return Object.keys(this.users).length > 0;
  }

  /**
   * Checks an `Authorization` header value. A remembered success answers at once; so does a
   * flood of guesses beyond `maxWaiting` (busy), so that it cannot queue up without bound.
   */
  async check(header: string | undefined): Promise<AuthResult> {
    const creds = parseBasic(header);
    if (creds === undefined) return 'denied';
    const { user, password } = creds;
    const known = Object.prototype.hasOwnProperty.call(this.users, user);
    const hash = known ? this.users[user]! : this.dummyHash;
    const key = createHash('sha256').update(user).update('\0').update(hash).update('\0').update(password).digest('hex');
    const until = this.cache.get(key);
    if (until !== undefined) {
      if (until > this.now() && known) return 'ok';
      this.cache.delete(key);
    }
    if (this.waiting >= this.maxWaiting) return 'busy';
    this.waiting += 1;
    const release = await this.gate.acquire();
    let ok: boolean;
    try {
      ok = await this.compare(password, hash);
    } catch {
      ok = false;
    } finally {
      release();
      this.waiting -= 1;
    }
    if (!known || !ok) return 'denied';
    if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, this.now() + this.ttl);
    return 'ok';
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

