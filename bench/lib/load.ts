// Single-request scenarios through autocannon's programmatic API: a fixed number of keep-alive
// connections, each sending its next request as soon as the previous answer arrives, for a fixed
// time. Latencies are taken from autocannon's per-response event so percentiles are exact.
import autocannon from 'autocannon';
import { LatencyRecorder, round, type LatencySummary } from './stats.ts';

export interface RequestSpec {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /**
   * Builds each request just before it is sent (after the previous answer on that connection was
   * handled by `onResponse`), for scenarios whose requests change: refresh token chains, a
   * rotating set of access tokens.
   */
  next?: () => { path?: string; headers?: Record<string, string>; body?: string } | undefined;
  onResponse?: (status: number, body: string) => void;
}

export interface Round {
  /** 2xx answers. */
  ok: number;
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  seconds: number;
  latency: LatencyRecorder;
  statusCodes: Record<string, number>;
  firstFailure?: string;
}

export function newRound(): Round {
  return { ok: 0, non2xx: 0, errors: 0, seconds: 0, latency: new LatencyRecorder(), statusCodes: {} };
}

export function runAutocannon(origin: string, spec: RequestSpec, connections: number, seconds: number): Promise<Round> {
  const result = newRound();
  const request: autocannon.Request = {
    method: spec.method,
    path: spec.path,
    headers: spec.headers ?? {},
    ...(spec.body !== undefined ? { body: spec.body } : {}),
    onResponse: (status: number, body: string) => {
      if ((status < 200 || status > 299) && result.firstFailure === undefined) result.firstFailure = `${status} ${String(body).slice(0, 300)}`;
      spec.onResponse?.(status, body);
    },
  };
  if (spec.next) {
    const next = spec.next;
    request.setupRequest = (req: autocannon.Request) => {
      const built = next();
      if (!built) return req;
      return { ...req, ...(built.path ? { path: built.path } : {}), headers: { ...(spec.headers ?? {}), ...(built.headers ?? {}) }, ...(built.body !== undefined ? { body: built.body } : {}) };
    };
  }
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: origin,
        connections,
        pipelining: 1,
        duration: seconds,
        timeout: 30,
        sampleInt: 100,
        requests: [request],
      },
      (error: Error | null, outcome: autocannon.Result) => {
        if (error) return reject(error);
        result.non2xx = outcome.non2xx;
        result.errors = outcome.errors;
        result.seconds = outcome.duration;
        for (const [code, stats] of Object.entries((outcome as unknown as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {})) result.statusCodes[code] = stats.count;
        resolve(result);
      },
    );
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      if (statusCode >= 200 && statusCode <= 299) {
        result.ok += 1;
        result.latency.record(responseTime);
      }
    });
  });
}

export interface Aggregate {
  /** Successful operations per second over all measured rounds. */
  rate: number;
  /** Each measured round's rate, in order. */
  roundRates: number[];
  ok: number;
  failed: number;
  seconds: number;
  latency: LatencySummary;
  firstFailure?: string;
}

export function aggregate(rounds: { ok: number; non2xx?: number; errors?: number; failed?: number; seconds: number; latency: LatencyRecorder; firstFailure?: string }[]): Aggregate {
  const latency = new LatencyRecorder();
  let ok = 0;
  let failed = 0;
  let seconds = 0;
  let firstFailure: string | undefined;
  for (const r of rounds) {
    ok += r.ok;
    failed += (r.non2xx ?? 0) + (r.errors ?? 0) + (r.failed ?? 0);
    seconds += r.seconds;
    latency.merge(r.latency);
    firstFailure ??= r.firstFailure;
  }
  return {
    rate: seconds > 0 ? round(ok / seconds, 1) : 0,
    roundRates: rounds.map((r) => (r.seconds > 0 ? round(r.ok / r.seconds, 1) : 0)),
    ok,
    failed,
    seconds: round(seconds, 2),
    latency: latency.summary(),
    ...(firstFailure ? { firstFailure } : {}),
  };
}
