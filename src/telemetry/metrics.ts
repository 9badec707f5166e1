// Prometheus metrics (prom-client). Off until enableMetrics() is called (GATEHOUSE_METRICS_PORT
// set): until then every recording function below is a no-op, so services call them freely.
// Label values are bounded: route templates (never raw paths), fixed outcome names, registered
// client ids, and cache and store operation names from the code.
import http from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AddressInfo } from 'node:net';

export type SignInOutcome = 'success' | 'wrong_password' | 'unknown_user' | 'locked' | 'inactive' | 'throttled' | 'mfa_failed' | 'passkey_failed' | 'federation_refused';
const SIGN_IN_OUTCOMES: readonly SignInOutcome[] = ['success', 'wrong_password', 'unknown_user', 'locked', 'inactive', 'throttled', 'mfa_failed', 'passkey_failed', 'federation_refused'];

/** Fast requests (token, JWKS) take milliseconds; a sign-in with argon2id tens to hundreds. */
const HTTP_BUCKETS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const QUERY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

interface Instruments {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  grants: Counter<'grant_type' | 'client_id' | 'outcome'>;
  signIns: Record<SignInOutcome, Counter.Internal>;
  lockouts: Counter;
  hashQueue: Gauge;
  hashWait: Histogram;
  dbQuery: Histogram<'outcome'>;
  storeOp: Histogram<'operation' | 'outcome'>;
  cacheLookups: Counter<'cache' | 'result'>;
  webhookDeliveries: Counter<'outcome'>;
}

let instruments: Instruments | undefined;
/** Gauges read at scrape time (pool sizes, queue lengths): nothing is paid per request. */
const scrapeProbes = new Set<() => void>();

/** Creates the metrics (once per process) and returns their registry. */
export function enableMetrics(): Registry {
  if (instruments) return instruments.registry;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const signIns = new Counter({ name: 'gatehouse_sign_ins_total', help: 'Sign-in attempts by outcome', labelNames: ['outcome'], registers: [registry] });
  instruments = {
    registry,
    httpRequests: new Counter({ name: 'gatehouse_http_requests_total', help: 'HTTP requests by method, route template and status', labelNames: ['method', 'route', 'status'], registers: [registry] }),
    httpDuration: new Histogram({ name: 'gatehouse_http_request_duration_seconds', help: 'HTTP request duration by method, route template and status', labelNames: ['method', 'route', 'status'], buckets: HTTP_BUCKETS, registers: [registry] }),
    grants: new Counter({ name: 'gatehouse_grants_total', help: 'Token endpoint grants by grant type, client and outcome (success or the OAuth error code)', labelNames: ['grant_type', 'client_id', 'outcome'], registers: [registry] }),
    signIns: Object.fromEntries(SIGN_IN_OUTCOMES.map((outcome) => [outcome, signIns.labels(outcome)])) as Record<SignInOutcome, Counter.Internal>,
    lockouts: new Counter({ name: 'gatehouse_lockouts_total', help: 'Accounts locked after repeated failures', registers: [registry] }),
    hashQueue: new Gauge({ name: 'gatehouse_password_hash_queue_length', help: 'Password hash computations waiting for a slot', registers: [registry] }),
    hashWait: new Histogram({ name: 'gatehouse_password_hash_wait_seconds', help: 'Time a password hash computation waited for a slot', buckets: [0, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry] }),
    dbQuery: new Histogram({ name: 'gatehouse_db_query_duration_seconds', help: 'Database query duration', labelNames: ['outcome'], buckets: QUERY_BUCKETS, registers: [registry] }),
    storeOp: new Histogram({ name: 'gatehouse_store_operation_duration_seconds', help: 'Key-value store (Redis) operation duration by operation', labelNames: ['operation', 'outcome'], buckets: QUERY_BUCKETS, registers: [registry] }),
    cacheLookups: new Counter({ name: 'gatehouse_cache_lookups_total', help: 'Per-node cache lookups by cache and result (hit or miss)', labelNames: ['cache', 'result'], registers: [registry] }),
    webhookDeliveries: new Counter({ name: 'gatehouse_webhook_deliveries_total', help: 'Webhook deliveries by outcome', labelNames: ['outcome'], registers: [registry] }),
  };
  // Gauges that read their value when scraped.
  new Gauge({
    name: 'gatehouse_db_pool_connections',
    help: 'Database pool connections by state (used, free, pending acquires, max)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      for (const probe of scrapeProbes) probe();
    },
  });
  return registry;
}

export function metricsEnabled(): boolean {
  return instruments !== undefined;
}

export function recordSignIn(outcome: SignInOutcome): void {
  instruments?.signIns[outcome].inc();
}

export function recordLockout(): void {
  instruments?.lockouts.inc();
}

export function recordGrant(grantType: string, clientId: string, outcome: string): void {
  instruments?.grants.inc({ grant_type: grantType, client_id: clientId, outcome });
}

/** One delivery attempt: delivered, failed for good (no attempt left), or to be retried. */
export function recordWebhookDelivery(outcome: 'delivered' | 'failed' | 'retried'): void {
  instruments?.webhookDeliveries.inc({ outcome });
}

export function recordPasswordHashWait(seconds: number, queueLength: number): void {
  if (!instruments) return;
  instruments.hashWait.observe(seconds);
  instruments.hashQueue.set(queueLength);
}

export function setPasswordHashQueue(queueLength: number): void {
  instruments?.hashQueue.set(queueLength);
}

/** Hit and miss counters of one named cache; the children are looked up once, not per call. */
export function cacheCounters(cache: string): { hit(): void; miss(): void } {
  if (!instruments) return { hit: () => undefined, miss: () => undefined };
  const hit = instruments.cacheLookups.labels(cache, 'hit');
  const miss = instruments.cacheLookups.labels(cache, 'miss');
  return { hit: () => hit.inc(), miss: () => miss.inc() };
}

export function observeStoreOperation(operation: string, seconds: number, ok: boolean): void {
  instruments?.storeOp.observe({ operation, outcome: ok ? 'ok' : 'error' }, seconds);
}

export function observeDbQuery(seconds: number, ok: boolean): void {
  instruments?.dbQuery.observe({ outcome: ok ? 'ok' : 'error' }, seconds);
}

/** Pool gauge source: the pool of a knex instance (tarn), read when scraped. Returns an unregister. */
export function watchPool(pool: { numUsed(): number; numFree(): number; numPendingAcquires(): number; max: number } | undefined): () => void {
  if (!instruments || !pool) return () => undefined;
  const gauge = instruments.registry.getSingleMetric('gatehouse_db_pool_connections') as Gauge<'state'>;
  const probe = () => {
    gauge.set({ state: 'used' }, pool.numUsed());
    gauge.set({ state: 'free' }, pool.numFree());
    gauge.set({ state: 'pending' }, pool.numPendingAcquires());
    gauge.set({ state: 'max' }, pool.max);
  };
  scrapeProbes.add(probe);
  return () => scrapeProbes.delete(probe);
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

type HttpChildren = { count: Counter.Internal; duration: Histogram.Internal<'method' | 'route' | 'status'> };

/**
 * Records one HTTP request. The label children are kept in nested maps by method, route and
 * status, so a request costs map lookups and two increments, no label hashing or string building.
 */
export function createHttpRecorder(): ((method: string, route: string, status: number, seconds: number) => void) | undefined {
  const active = instruments;
  if (!active) return undefined;
  const children = new Map<string, Map<string, Map<number, HttpChildren>>>();
  return (method, route, status, seconds) => {
    const m = METHODS.has(method) ? method : 'OTHER';
    let byRoute = children.get(m);
    if (!byRoute) children.set(m, (byRoute = new Map()));
    let byStatus = byRoute.get(route);
    if (!byStatus) byRoute.set(route, (byStatus = new Map()));
    let child = byStatus.get(status);
    if (!child) {
      const labels = [m, route, String(status)] as const;
      child = { count: active.httpRequests.labels(...labels), duration: active.httpDuration.labels(...labels) };
      byStatus.set(status, child);
    }
    child.count.inc();
    child.duration.observe(seconds);
  };
}

export interface MetricsServer {
  readonly url: string;
  close(): Promise<void>;
}

/** The separate listener: GET /metrics in the Prometheus text format, nothing else. */
export async function startMetricsServer(registry: Registry, options: { port: number; host: string }): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && !req.url?.startsWith('/metrics?'))) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' }).end(text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'EADDRINUSE' ? new Error(`the metrics port ${options.host}:${options.port} is already in use (GATEHOUSE_METRICS_PORT)`) : error));
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
