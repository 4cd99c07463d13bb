import net from 'node:net';

/**
 * A free TCP port on 127.0.0.1 (bound and released; the caller binds it next). Another process,
 * such as a parallel test worker, can take it in between: start services through onFreePort(),
 * or let them bind port 0 and read the bound port back (see built-daemon.ts).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
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
      const p = await freePort();
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
 * checked closed now. Services the tests start listen on ports from the kernel's ephemeral range
 * (port 0, or freePort), never on these, so it stays closed for the test's run.
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
