import type { IncomingMessage } from 'node:http';
import { Router, type Request, type Response } from 'express';
import type { Registry } from 'prom-client';
import type { BundleConfig } from '../bundle/bundle-config';
import type { AvailabilityTracker, TargetKind, TargetView } from '../availability';
import type { GroupMatches } from '../collectors/process';
import type { Clock } from '../clock';
import { DAY, HOUR, type TargetHistory } from '../history';
import type { Logger } from '../log';
import { isTrusted, type TrustPolicy } from '../trust';
import { badge, mttrColour, mttrText, stateColour, uptimeColour, uptimeText } from './badge';
import {
  buildModel, degradedTargets, history, pointOf, incidentsOf, isWindow, mttrOf, points, stateOf, uptimeOf, WINDOWS, windowAggregate,
  type HistoryPoint, type ModelDeps, type StatusModel,
} from './model';
import { renderMain, renderPage, type PageTarget } from './page';

/**
 * The status page (/), the runbook (/runbook), the JSON API (/api/v1/...) and the badges (/badge/...). Every handler
 * asks the trust policy whether the viewer may see error texts and the configuration source;
 * everyone else gets names, states and figures.
 */

export interface StatusRoutesDeps {
  tracker: AvailabilityTracker;
  registry: Registry;
  clock: Clock;
  log: Logger;
  version: string;
  configSource: () => string;
  /** Defaults to "no authentication configured": only loopback viewers are trusted. */
  trust?: TrustPolicy;
  /** What each declared process group matched (pid, comm, exe), shown with the group. */
  processMatches?: () => ReadonlyMap<string, GroupMatches>;
  /** Replaces the trust decision (tests play a remote viewer with it); default isTrusted(req, trust). */
  trusted?: (req: IncomingMessage) => boolean;
  /** The bundle settings /runbook shows the thresholds of; default: the built-in ones. */
  bundleConfig?: BundleConfig;
}

const KINDS: readonly TargetKind[] = ['http', 'mqtt', 'traffic', 'container', 'process'];
const NO_AUTH: TrustPolicy = { authConfigured: () => false };

export function statusRoutes(deps: StatusRoutesDeps): Router {
  const trust = deps.trust ?? NO_AUTH;
  const trustedOf = deps.trusted ?? ((req: IncomingMessage): boolean => isTrusted(req, trust));
  const model: ModelDeps = {
    tracker: deps.tracker, registry: deps.registry, clock: deps.clock,
    ...(deps.processMatches !== undefined ? { processMatches: deps.processMatches } : {}),
  };
  const router = Router();
  const bars = new Map<string, BarCache>();

  const find = (req: Request, res: Response): TargetView | undefined => {
    const kind = String(req.params.kind) as TargetKind;
    const v = KINDS.includes(kind) ? deps.tracker.view(kind, String(req.params.name)) : undefined;
    if (v === undefined) res.status(404).type('application/json').send(JSON.stringify({ error: 'no such target' }));
    return v;
  };
  const fail = (res: Response, err: unknown): void => {
    deps.log.error({ err }, 'status request failed');
    if (!res.headersSent) res.status(500).type('text/plain').send('status unavailable\n');
  };

  let runbook: string | undefined;
  router.get('/runbook', (_req, res) => {
    // The same for every viewer: the alerts' documentation, no state of this exporter.
    if (runbook === undefined) {
      // Loaded on first use: the bundle's generators are no part of the daemon's steady state.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { renderRunbookPage } = require('./runbook-page') as typeof import('./runbook-page');
      runbook = renderRunbookPage(deps.bundleConfig, deps.version);
    }
    res.set('Cache-Control', 'no-cache');
    res.type('html').send(runbook);
  });

  router.get('/', async (req, res) => {
    try {
      const trusted = trustedOf(req);
      const range = req.query.bars === '90d' ? '90d' : '48h';
      const m = await buildModel(model, trusted);
      const input = {
        model: m, targets: pageTargets(model, m, range, bars), range, version: deps.version, trusted,
        ...(trusted ? { configSource: deps.configSource() } : {}),
      } as const;
      res.set('Cache-Control', 'no-store');
      res.type('html').send(req.query.fragment === '1' ? renderMain(input) : renderPage(input));
    } catch (err) {
      fail(res, err);
    }
  });

  router.get('/api/v1/targets', async (req, res) => {
    try {
      const m = await buildModel(model, trustedOf(req));
      res.set('Cache-Control', 'no-store');
      res.type('application/json').send(JSON.stringify(m));
    } catch (err) {
      fail(res, err);
    }
  });

  router.get('/api/v1/targets/:kind/:name/history', (req, res) => {
    const window = req.query.window ?? '24h';
    if (!isWindow(window)) {
      res.status(400).type('application/json').send(JSON.stringify({ error: 'window must be one of 24h, 7d, 30d, 90d' }));
      return;
    }
    const v = find(req, res);
    if (v === undefined) return;
    const now = deps.clock();
    const h = deps.tracker.history(v.kind, v.target)!;
    const body = {
      kind: v.kind, name: v.target, window, generatedAt: now,
      stepSeconds: { '24h': 900, '7d': 3600, '30d': 21600, '90d': 86400 }[window],
      points: history(model, v.kind, v.target, window),
      incidents: incidentsOf(h, now, trustedOf(req), now - WINDOWS[window]),
    };
    res.set('Cache-Control', 'no-store');
    res.type('application/json').send(JSON.stringify(body));
  });

  const svg = (res: Response, body: string): void => {
    // Badges sit in READMEs behind image proxies: a minute of caching, public unless auth is on.
    res.set('Cache-Control', `${trust.authConfigured() ? 'private' : 'public'}, max-age=60`);
    res.type('image/svg+xml').send(body);
  };

  router.get('/badge/:kind/:name/status.svg', async (req, res) => {
    try {
      const v = find(req, res);
      if (v === undefined) return;
      const state = stateOf(v, await degradedTargets(deps.registry));
      svg(res, badge(v.target, state, stateColour(state)));
    } catch (err) {
      fail(res, err);
    }
  });

  const windowBadge = (what: 'uptime' | 'mttr') => (req: Request, res: Response): void => {
    const file = String(req.params.file);
    const window = file.endsWith('.svg') ? file.slice(0, -4) : '';
    if (!isWindow(window)) {
      res.status(404).type('text/plain').send('badge windows: 24h, 7d, 30d, 90d (e.g. 30d.svg)\n');
      return;
    }
    const v = find(req, res);
    if (v === undefined) return;
    const now = deps.clock();
    const h = deps.tracker.history(v.kind, v.target)!;
    const gaps = deps.tracker.gaps();
    if (what === 'uptime') {
      const u = uptimeOf(windowAggregate(h, WINDOWS[window], now, gaps));
      svg(res, badge(`uptime ${window}`, uptimeText(u), uptimeColour(u)));
    } else {
      const mttr = mttrOf(h, WINDOWS[window], now);
      svg(res, badge(`MTTR ${window}`, mttrText(mttr), mttrColour(mttr)));
    }
  };
  router.get('/badge/:kind/:name/uptime/:file', windowBadge('uptime'));
  router.get('/badge/:kind/:name/mttr/:file', windowBadge('mttr'));

  return router;
}

interface BarCache { key: string; closed: HistoryPoint[] }

/**
 * The bars and sparkline of each target. Points of closed hours (days) only change when an
 * outage starts or ends, so they are kept per target and recomputed when the hour (day), the
 * history's revision or the unknown gaps change; the point in progress is computed every time.
 */
function pageTargets(deps: ModelDeps, m: StatusModel, range: '48h' | '90d', cache: Map<string, BarCache>): PageTarget[] {
  const now = deps.clock();
  const gaps = deps.tracker.gaps();
  const closedOf = (id: string, h: TargetHistory, span: number, step: number, latency: boolean): HistoryPoint[] => {
    const key = `${Math.floor(now / step)}:${h.revision}:${gaps.length}`;
    const hit = cache.get(id);
    if (hit !== undefined && hit.key === key) return hit.closed;
    const closed = points(h, span - step, step, Math.floor(now / step) * step - 1e-6, gaps, latency);
    cache.set(id, { key, closed });
    return closed;
  };
  const out = m.targets.map((summary) => {
    const h = deps.tracker.history(summary.kind, summary.name)!;
    const id = `${summary.kind}\u0000${summary.name}`;
    const hourly = closedOf(`${id}\u000048h`, h, 48 * HOUR, HOUR, true);
    const current = pointOf(h, Math.floor(now / HOUR) * HOUR, HOUR, now, gaps, 'hour');
    const spark = h.latency ? [...hourly, current] : [];
    if (range === '48h') return { summary, closed: hourly, current, spark };
    const daily = closedOf(`${id}\u000090d`, h, 90 * DAY, DAY, false);
    return { summary, closed: daily, current: pointOf(h, Math.floor(now / DAY) * DAY, DAY, now, gaps, 'hour', false), spark };
  });
  if (cache.size > 4 * (out.length + 8)) cache.clear(); // targets that went away
  return out;
}
