import { TrafficWindow } from '../../src/collectors/log-traffic';

describe('TrafficWindow (traffic target)', () => {
  it('is down only above the ratio with at least min requests in the window', () => {
    const w = new TrafficWindow(60);
    w.add(100, true);
    w.add(100.5, false);
    // One failure among two requests is no outage.
    expect(w.judge(101, 0.05, 20)).toEqual({ ok: true, requests: 2, errors: 1 });
    for (let i = 0; i < 18; i++) w.add(101 + i, false);
    // 1 of 20 is 5%: at the threshold, not above it.
    expect(w.judge(119, 0.05, 20)).toEqual({ ok: true, requests: 20, errors: 1 });
    w.add(119, true);
    expect(w.judge(119, 0.05, 20)).toEqual({ ok: false, requests: 21, errors: 2 });
    expect(w.judge(119, 0.05, 22).ok).toBe(true);
  });

  it('forgets requests older than the window, also after a long silence', () => {
    const w = new TrafficWindow(10);
    for (let i = 0; i < 30; i++) w.add(200 + i * 0.1, true);
    expect(w.judge(203, 0.1, 5)).toMatchObject({ ok: false, requests: 30 });
    // Seconds 200, 201 and 202 hold 10 each; a 10 s window at 210 holds 201..210.
    expect(w.judge(210, 0.1, 5)).toMatchObject({ ok: false, requests: 20 });
    expect(w.judge(212, 0.1, 5)).toEqual({ ok: true, requests: 0, errors: 0 });
    w.add(5000, false);
    expect(w.totals(5000)).toEqual({ requests: 1, errors: 0 });
  });
});
