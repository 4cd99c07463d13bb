/**
 * Long synchronous work (reading /proc for hundreds of processes, compressing a snapshot's texts,
 * loading a large configuration) done in slices, with the event loop let through between them:
 * probes, scrapes and timers wait for one slice at most, not for the whole job.
 */

/** Resolves after the event loop has run its timers and I/O once more. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Milliseconds of synchronous work a slice may take before the loop is let through. */
export const SLICE_MS = 4;

/**
 * Runs a generator of synchronous steps to its end, letting the event loop through whenever a
 * slice has taken `sliceMs`; `stopped` is asked after each pause (the work's resources may be
 * gone): when it says so the generator is closed and `undefined` returned.
 */
export async function runInSlices<T>(steps: Generator<unknown, T>, stopped: () => boolean, sliceMs = SLICE_MS): Promise<T | undefined> {
  let sliceStart = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done === true) return r.value;
    if (performance.now() - sliceStart < sliceMs) continue;
    await nextTurn();
    if (stopped()) {
      steps.return(undefined as T);
      return undefined;
    }
    sliceStart = performance.now();
  }
}

/** Runs the same steps in one go (command-line tools, tests, benchmarks). */
export function runAtOnce<T>(steps: Generator<unknown, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done === true) return r.value;
  }
}
