/**
 * The 5xx ratio of real traffic over a sliding window, in one-second buckets, for the `traffic`
 * availability target: a source is judged down while the ratio is above a threshold with at
 * least a minimum number of requests in the window (one failure among two requests is no outage).
 */
export class TrafficWindow {
  private readonly requests: Float64Array;
  private readonly errors: Float64Array;
  private readonly seconds: Float64Array;

  constructor(private readonly windowSeconds: number) {
    const n = Math.max(1, Math.ceil(windowSeconds));
    this.requests = new Float64Array(n);
    this.errors = new Float64Array(n);
    this.seconds = new Float64Array(n).fill(-1);
  }

  /** Counts one request at clock time `now` (seconds). */
  add(now: number, error: boolean): void {
    const s = Math.floor(now);
    const i = s % this.requests.length;
    if (this.seconds[i] !== s) {
      this.seconds[i] = s;
      this.requests[i] = 0;
      this.errors[i] = 0;
    }
    this.requests[i]! += 1;
    if (error) this.errors[i]! += 1;
  }

  /** Requests and 5xx in the window ending at `now`. */
  totals(now: number): { requests: number; errors: number } {
    const s = Math.floor(now);
    const oldest = s - this.requests.length + 1;
    let requests = 0;
    let errors = 0;
    for (let i = 0; i < this.requests.length; i++) {
      const t = this.seconds[i]!;
      if (t >= oldest && t <= s) {
        requests += this.requests[i]!;
        errors += this.errors[i]!;
      }
    }
    return { requests, errors };
  }

  /** Up (true) unless the window holds at least `minRequests` and more than `maxRatio` were 5xx. */
  judge(now: number, maxRatio: number, minRequests: number): { ok: boolean; requests: number; errors: number } {
    const t = this.totals(now);
    const ok = t.requests < minRequests || t.errors / t.requests <= maxRatio;
    return { ok, ...t };
  }
}
