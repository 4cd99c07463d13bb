/**
 * The container image's HEALTHCHECK: asks the running exporter's /-/healthy on the address it
 * actually listens on, whatever flag, environment variable or config file chose that address.
 *
 * It finds the address from the kernel rather than from the configuration: the exporter's
 * listening TCP sockets are the `socket:[inode]` links in /proc/PID/fd that /proc/net/tcp and
 * tcp6 list in state LISTEN. A wildcard address (0.0.0.0, ::) is asked on loopback. It tries
 * plain HTTP first, then HTTPS without verifying the certificate (a web config file may have
 * turned TLS on); any answer from the exporter's own server (200, or 401 when basic auth is on)
 * counts as healthy.
 *
 * Exit codes: 0 healthy, 1 not healthy (as Docker expects).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';

export interface ListenAddress {
  host: string;
  port: number;
}

/** Decodes /proc/net/tcp's `0100007F:2502` (IPv4, per-word little endian) or the 32-digit IPv6 form. */
export function decodeProcAddress(hex: string): ListenAddress | undefined {
  const m = /^([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})$/.exec(hex);
  if (m === null) return undefined;
  const [, ip, port] = m as unknown as [string, string, string];
  const words: number[] = [];
  for (let i = 0; i < ip.length; i += 8) words.push(Number.parseInt(ip.slice(i, i + 8), 16));
  const bytes = Buffer.alloc(ip.length / 2);
  // Each 32-bit word is stored in host order (little endian on the machines Node runs here).
  words.forEach((w, i) => bytes.writeUInt32LE(w, i * 4));
  let host: string;
  if (bytes.length === 4) {
    host = [...bytes].join('.');
  } else {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
    host = groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
    const mapped = /^::ffff:([0-9a-f]+):([0-9a-f]+)$/.exec(host);
    if (mapped !== null) {
      const a = Number.parseInt(mapped[1]!, 16);
      const b = Number.parseInt(mapped[2]!, 16);
      host = `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
    }
  }
  return { host, port: Number.parseInt(port, 16) };
}

/** Listening sockets in a /proc/net/tcp(6) table, by inode. */
export function parseListeners(table: string): Map<string, ListenAddress> {
  const out = new Map<string, ListenAddress>();
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== '0A') continue;
    const addr = decodeProcAddress(f[1]!);
    if (addr !== undefined) out.set(f[9]!, addr);
  }
  return out;
}

/** Where process `pid` listens for TCP connections (wildcards turned into loopback). */
export function listenAddressesOf(pid: number, procRoot = '/proc'): ListenAddress[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`${procRoot}/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`${procRoot}/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m !== null) inodes.add(m[1]!);
  }
  const out: ListenAddress[] = [];
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`${procRoot}/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const [inode, addr] of parseListeners(text)) {
      if (!inodes.has(inode)) continue;
      const host = addr.host === '0.0.0.0' ? '127.0.0.1' : addr.host === '::' ? '::1' : addr.host;
      out.push({ host, port: addr.port });
    }
  }
  return out;
}

/** Resolves with the HTTP status of GET /-/healthy, or undefined when nothing answered. */
function ask(addr: ListenAddress, tls: boolean, timeoutMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const mod = tls ? https : http;
    const req = mod.request({
      host: addr.host, port: addr.port, path: '/-/healthy', method: 'GET', timeout: timeoutMs,
      ...(tls ? { rejectUnauthorized: false } : {}),
    }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** True when the exporter answered within `budgetMs` in all (Docker's --timeout is 5 s). */
export async function healthy(pid: number, budgetMs = 4000): Promise<boolean> {
  const deadline = Date.now() + budgetMs;
  let addrs: ListenAddress[];
  try {
    addrs = listenAddressesOf(pid);
  } catch {
    return false;
  }
  for (const addr of addrs) {
    for (const tls of [false, true]) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      const status = await ask(addr, tls, left);
      if (status === 200 || status === 401) return true;
    }
  }
  return false;
}

if (require.main === module) {
  const pid = Number(process.env.STACKWATCH_HEALTHCHECK_PID ?? '1');
  void healthy(Number.isInteger(pid) && pid > 0 ? pid : 1).then((ok) => process.exit(ok ? 0 : 1));
}
