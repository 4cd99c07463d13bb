import { readFileSync } from 'node:fs';
import net from 'node:net';

/** The kernel's ephemeral port range: where port-0 binds and outgoing connections get their port. */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo !== undefined && hi !== undefined && lo > 0 && hi >= lo) return [lo, hi];
  } catch {
    // Not Linux: the IANA dynamic range.
  }
  return [49152, 65535];
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * A port on 127.0.0.1 for a service that cannot listen on port 0 and report it (Prometheus,
 * Alertmanager, the demo scripts), or that must come back on the same port after a restart.
 * Chosen at random between 10000 and the start of the kernel's ephemeral range, and free now:
 * the kernel hands out no port there (not to a port-0 listener, not to an outgoing connection),
 * so between our check and the service's bind, or while it restarts, only another test picking
 * the same one of ~20000 ports could take it. Starting through onFreePorts() also retries that.
 * Services that can listen on port 0 do so instead (see built-daemon.ts's boundPort).
 */
export async function fixedPort(): Promise<number> {
  const [lo, hi] = ephemeralRange();
  // Below the ephemeral range, or above it when it starts too low to leave room.
  const [from, to] = lo - 10_000 >= 5000 ? [10_000, lo - 1] : [hi + 1, 65_535];
  for (let i = 0; i < 100; i++) {
    const port = from + Math.floor(Math.random() * (to - from + 1));
    if (await canBind(port)) return port;
  }
  throw new Error(`no free port found between ${from} and ${to}`);
}

/** Whether an error (or the log it carries) says a port was already taken. */
export function isAddressInUse(err: unknown): boolean {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : '';
  const text = err instanceof Error ? `${(err as NodeJS.ErrnoException).code ?? ''} ${err.message} ${cause}` : String(err);
  return /EADDRINUSE|address already in use/i.test(text);
}

/**
 * Starts a service on a free port (or `ports` free ports, for services that listen twice), and
 * starts it again on fresh ports when it fails because one of them was taken meanwhile.
 */
export async function onFreePorts<T>(ports: number, start: (ports: number[]) => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    const chosen: number[] = [];
    while (chosen.length < ports) {
      const p = await fixedPort();
      if (!chosen.includes(p)) chosen.push(p);
    }
    try {
      return await start(chosen);
    } catch (err) {
      if (i >= attempts || !isAddressInUse(err)) throw err;
    }
  }
}

export const onFreePort = <T>(start: (port: number) => Promise<T>, attempts = 5): Promise<T> =>
  onFreePorts(1, ([p]) => start(p!), attempts);

/**
 * A port on 127.0.0.1 that refuses connections, for targets that must be down: one below 1024,
 * checked closed now. Services the tests start listen on port 0 or on fixedPort()'s (10000 and
 * above), never on these, so it stays closed for the test's run.
 */
export async function closedPort(): Promise<number> {
  for (const port of [1, 9, 47, 71, 73, 75, 97, 111]) {
    const refused = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(false); });
      s.on('error', () => resolve(true));
    });
    if (refused) return port;
  }
  throw new Error('no closed port below 1024 on 127.0.0.1');
}
