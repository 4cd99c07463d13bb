/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    }
    await sleep(everyMs);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * `p`'s value if it settles within `ms`, else `orElse`. The timer is cleared either way: a timer
 * left pending (as `Promise.race([p, sleep(ms)])` leaves one) keeps the jest worker alive after
 * its last test file, and jest then reports that it "failed to exit gracefully".
 */
export async function within<T, U>(p: Promise<T>, ms: number, orElse: U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<U>((r) => { timer = setTimeout(() => r(orElse), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}
