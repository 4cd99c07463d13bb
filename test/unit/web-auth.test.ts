import bcrypt from 'bcryptjs';
import { BasicAuth, makeDummyHash, parseBasic } from '../../src/web/basic-auth';

const header = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('basic auth', () => {
  const hash = bcrypt.hashSync('right-password', 5);

  function counted(now: () => number = Date.now) {
    const calls: string[] = [];
    const auth = new BasicAuth({ alice: hash }, 'DUMMY', {
      now,
      cacheTtlMs: 60_000,
      compare: (password, h) => {
        calls.push(h === 'DUMMY' ? 'dummy' : h === hash ? 'alice' : 'other');
        return Promise.resolve(h === hash && password === 'right-password');
      },
    });
    return { auth, calls };
  }

  it('parses the Authorization header; anything else is no credentials', () => {
    expect(parseBasic(header('alice', 'pa:ss'))).toEqual({ user: 'alice', password: 'pa:ss' });
    expect(parseBasic(undefined)).toBeUndefined();
    expect(parseBasic('Bearer abc')).toBeUndefined();
    expect(parseBasic(`Basic ${Buffer.from('nocolon').toString('base64')}`)).toBeUndefined();
  });

  it('runs a bcrypt comparison against the dummy hash for an unknown user (no timing oracle)', async () => {
    const { auth, calls } = counted();
    expect(await auth.check(header('mallory', 'right-password'))).toBe('denied');
    expect(await auth.check(header('alice', 'wrong'))).toBe('denied');
    expect(calls).toEqual(['dummy', 'alice']);
    // A missing or malformed header costs nothing and passes nothing.
    expect(await auth.check(undefined)).toBe('denied');
    expect(calls).toHaveLength(2);
  });

  it('remembers a success briefly, and only the exact user, hash and password', async () => {
    let t = 1_000_000;
    const { auth, calls } = counted(() => t);
    expect(await auth.check(header('alice', 'right-password'))).toBe('ok');
    expect(await auth.check(header('alice', 'right-password'))).toBe('ok');
    expect(calls).toEqual(['alice']);
    expect(await auth.check(header('alice', 'right-passwordX'))).toBe('denied');
    expect(calls).toEqual(['alice', 'alice']);
    t += 61_000;
    expect(await auth.check(header('alice', 'right-password'))).toBe('ok');
    expect(calls).toEqual(['alice', 'alice', 'alice']);
  });

  it('runs bcrypt comparisons one at a time', async () => {
    let active = 0;
    let most = 0;
    const auth = new BasicAuth({ alice: hash }, 'DUMMY', {
      compare: async () => {
        active += 1;
        most = Math.max(most, active);
        await new Promise((r) => setTimeout(r, 5));
        active -= 1;
        return false;
      },
    });
    await Promise.all(Array.from({ length: 5 }, (_, i) => auth.check(header('alice', `guess${i}`))));
    expect(most).toBe(1);
  });

  it('answers busy at once when too many checks wait, but still admits a remembered success', async () => {
    let calls = 0;
    const auth = new BasicAuth({ alice: hash }, 'DUMMY', {
      maxWaiting: 3,
      compare: async (password) => {
        calls += 1;
        await new Promise((r) => setTimeout(r, 20));
        return password === 'right-password';
      },
    });
    expect(await auth.check(header('alice', 'right-password'))).toBe('ok');
    const results = await Promise.all([
      ...Array.from({ length: 6 }, (_, i) => auth.check(header('mallory', `guess${i}`))),
      auth.check(header('alice', 'right-password')),
    ]);
    expect(results).toEqual(['denied', 'denied', 'denied', 'busy', 'busy', 'busy', 'ok']);
    expect(calls).toBe(4);
  });

  it('checks real bcrypt hashes, and makes the dummy hash with the highest configured cost', async () => {
    const dummy = await makeDummyHash([bcrypt.hashSync('x', 4), hash]);
    expect(bcrypt.getRounds(dummy)).toBe(5);
    const auth = new BasicAuth({ alice: hash }, dummy);
    expect(await auth.check(header('alice', 'right-password'))).toBe('ok');
    expect(await auth.check(header('alice', 'nope'))).toBe('denied');
    expect(await auth.check(header('bob', 'right-password'))).toBe('denied');
  });
});
