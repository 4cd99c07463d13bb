import { Coalescer } from '../../src/coalesce';

/** At most one run at a time, at most one waiting; failures never stick. */

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('1000 requests while one runs cost two runs; each request sees a run that started after it', async () => {
  let runs = 0;
  let active = 0;
  let maxActive = 0;
  const release: (() => void)[] = [];
  const c = new Coalescer(async () => {
    runs += 1;
    active += 1;
    maxActive = Math.max(maxActive, active);
    await new Promise<void>((r) => release.push(r));
    active -= 1;
    return runs;
  }, () => -1);
  const first = c.run();
  const rest = Array.from({ length: 1000 }, () => c.run());
  await tick();
  expect(runs).toBe(1);
  release.shift()!();
  expect(await first).toBe(1);
  await tick();
  expect(runs).toBe(2);
  release.shift()!();
  expect(new Set(await Promise.all(rest))).toEqual(new Set([2]));
  expect(maxActive).toBe(1);
  // Idle again: the next request runs at once.
  const again = c.run();
  await tick();
  release.shift()!();
  expect(await again).toBe(3);
});

test('a run that throws (synchronously or not) resolves through onError and the next one runs', async () => {
  let n = 0;
  const c = new Coalescer<string>(() => {
    n += 1;
    if (n === 1) throw new TypeError('sync boom');
    if (n === 2) return Promise.reject(new Error('async boom'));
    return Promise.resolve('ok');
  }, (err) => `failed: ${(err as Error).message}`);
  expect(await c.run()).toBe('failed: sync boom');
  expect(await c.run()).toBe('failed: async boom');
  expect(await c.run()).toBe('ok');
  await c.idle();
});
