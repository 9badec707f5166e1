// Metrics on their own listener and OpenTelemetry spans, against a real Gatehouse (both storage
// modes) driven by a real OIDC client: what an operator's Prometheus and collector would see.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import * as client from 'openid-client';
import { generate } from 'otplib';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { enableMetrics, startMetricsServer, type MetricsServer } from '../../src/telemetry/metrics.ts';
import { enableTracing, shutdownTracing } from '../../src/telemetry/tracing.ts';
import { createServiceApiCaller } from '../helpers/admin-api.ts';
import { startTestGatehouse, storageMode, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { createWebClient, signIn, startAuthorization, submitLogin, type WebClient } from '../helpers/oidc.ts';

const CALLBACK = 'http://localhost:8161/callback';
const PASSWORD = 'observed sign-in 123456';

/** The sum of the sample lines of `name` whose labels include `labels`; undefined if none. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = line.slice(name.length).split(' ')[0]!;
    if (Object.entries(labels).every(([key, value]) => labelText.includes(`${key}="${value}"`))) total = (total ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

describe(`metrics and tracing (${storageMode})`, function () {
  this.timeout(600_000); // the embedded database's first start is slow on a busy machine
  const spans = new InMemorySpanExporter();
  let metrics: MetricsServer;
  let gh: TestGatehouse;
  let app: WebClient;
  let username: string;

  before(async () => {
    // Both before the context opens, as `gatehouse start` does.
    metrics = await startMetricsServer(enableMetrics(), { port: 0, host: '127.0.0.1' });
    await enableTracing({ serviceName: 'gatehouse-test', exporter: spans });
    // Webhook endpoints on loopback (the receiver below) are allowed.
    gh = await startTestGatehouse({ GATEHOUSE_BACKCHANNEL_ALLOW_PRIVATE: 'true' });
    app = await createWebClient(gh, uniqueName('Observed'), CALLBACK);
    username = uniqueName('observed');
    await gh.context.users.create({ username, password: PASSWORD }, SYSTEM_ACTOR);
  });

  after(async () => {
    await gh?.close();
    await metrics?.close();
    await shutdownTracing();
  });

  const scrape = async () => {
    const response = await fetch(metrics.url);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    return response.text();
  };

  it('serves only /metrics, on loopback', async () => {
    assert.match(metrics.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    assert.equal((await fetch(new URL('/other', metrics.url))).status, 404);
    assert.match(await scrape(), /^# HELP gatehouse_http_requests_total /m);
  });

  it('counts requests by route template and status, grants by type and client, and sign-ins by outcome', async () => {
    const before = await scrape();
    // A wrong password first, through the real form.
    const started = await startAuthorization({ gatehouse: gh, config: app.config, redirectUri: CALLBACK, scope: 'openid' });
    const refused = await submitLogin(started.browser, started.response, username, 'not the password 1234');
    assert.ok(refused.status < 500);
    const uid = started.response.url.pathname.split('/')[2]!;
    const { tokens } = await signIn({ gatehouse: gh, config: app.config, redirectUri: CALLBACK, username, password: PASSWORD, scope: 'openid' });
    await client.refreshTokenGrant(app.config, tokens.refresh_token!);
    const text = await scrape();
    const grew = (name: string, labels: Record<string, string>) => (sample(text, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);

    assert.equal(grew('gatehouse_grants_total', { grant_type: 'authorization_code', client_id: app.clientId, outcome: 'success' }), 1);
    assert.equal(grew('gatehouse_grants_total', { grant_type: 'refresh_token', client_id: app.clientId, outcome: 'success' }), 1);
    assert.equal(grew('gatehouse_sign_ins_total', { outcome: 'success' }), 1);
    assert.equal(grew('gatehouse_sign_ins_total', { outcome: 'wrong_password' }), 1);
    assert.ok(grew('gatehouse_http_requests_total', { method: 'POST', route: 'oidc:token', status: '200' }) >= 2);
    assert.ok(grew('gatehouse_http_request_duration_seconds_count', { method: 'POST', route: 'oidc:token', status: '200' }) >= 2);
    // Route templates, never raw paths: the interaction's id is in no label.
    assert.ok(uid.length > 10 && !text.includes(uid), 'the interaction id appears in no label');
    assert.ok(
      sample(text, 'gatehouse_http_requests_total', { route: '/interaction/:uid' }) !== undefined,
      text
        .split('\n')
        .filter((l) => l.startsWith('gatehouse_http_requests_total'))
        .join('\n'),
    );
    assert.ok(grew('gatehouse_password_hash_wait_seconds_count', {}) >= 2, 'password verifications waited (or not) for a hash slot');
    assert.ok(grew('gatehouse_db_query_duration_seconds_count', { outcome: 'ok' }) > 0);
    assert.ok(grew('gatehouse_store_operation_duration_seconds_count', {}) > 0);
    assert.ok((sample(text, 'gatehouse_cache_lookups_total', { result: 'hit' }) ?? 0) > 0, 'cache hits are counted');
    assert.ok((sample(text, 'gatehouse_db_pool_connections', { state: 'max' }) ?? 0) >= 1);
    assert.notEqual(sample(text, 'gatehouse_password_hash_queue_length'), undefined);
  });

  it('counts refused sign-ins by outcome and lockouts', async () => {
    const before = await scrape();
    const locked = uniqueName('to-lock');
    await gh.context.users.create({ username: locked, password: PASSWORD }, SYSTEM_ACTOR);
    // The default policy locks after 10 consecutive failures; a new address each time keeps the
    // per-address throttle out of it.
    let outcome;
    for (let attempt = 1; attempt <= 12 && (outcome?.kind !== 'failed' || outcome.reason !== 'locked'); attempt++) {
      outcome = await gh.context.signIn.password(gh.context.tenantId, { uid: `uid-${attempt}`, login: locked, password: `wrong password ${attempt} x`, ip: `198.51.100.${attempt}`, userAgent: null });
    }
    assert.deepEqual([outcome?.kind, outcome?.kind === 'failed' && outcome.reason], ['failed', 'locked']);
    const text = await scrape();
    const grew = (name: string, labels: Record<string, string> = {}) => (sample(text, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);
    assert.equal(grew('gatehouse_lockouts_total'), 1);
    assert.ok(grew('gatehouse_sign_ins_total', { outcome: 'wrong_password' }) >= 9);
    assert.ok(grew('gatehouse_sign_ins_total', { outcome: 'locked' }) >= 1);
  });

  it('counts a sign-in refused by the per-address throttle as throttled, and a wrong second factor as mfa_failed', async () => {
    const before = await scrape();
    const previous = await gh.context.passwordPolicies.get(gh.context.tenantId);
    const ip = `198.18.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 254) + 1}`;
    try {
      await gh.context.passwordPolicies.replace(gh.context.tenantId, { ipThrottle: { maxFailures: 1, windowSeconds: 600 } }, SYSTEM_ACTOR);
      const attempt = (n: number) => gh.context.signIn.password(gh.context.tenantId, { uid: uniqueName('uid'), login: uniqueName(`nobody-${n}`), password: 'wrong password x', ip, userAgent: null });
      assert.equal((await attempt(1)).kind, 'failed');
      assert.equal((await attempt(2)).kind, 'throttled');
    } finally {
      // The policy is the tenant's (shared on PostgreSQL): leave it as it was.
      await gh.context.passwordPolicies.replace(gh.context.tenantId, previous, SYSTEM_ACTOR);
    }
    const withTotp = uniqueName('observed-totp');
    const user = await gh.context.users.create({ username: withTotp, password: PASSWORD }, SYSTEM_ACTOR);
    const enrollment = await gh.context.mfa.startEnrollment(gh.context.tenantId, user);
    assert.ok(await gh.context.mfa.confirmEnrollment(gh.context.tenantId, user.id, await generate({ secret: enrollment.secret }), SYSTEM_ACTOR));
    const uid = uniqueName('uid');
    const first = await gh.context.signIn.password(gh.context.tenantId, { uid, login: withTotp, password: PASSWORD, ip: '198.51.100.200', userAgent: null });
    assert.deepEqual([first.kind, first.kind === 'step' && first.step], ['step', 'totp']);
    const wrong = await gh.context.signIn.totp(gh.context.tenantId, { uid, code: '000000', ip: '198.51.100.200', userAgent: null });
    assert.equal(wrong?.kind, 'retry');
    const text = await scrape();
    const grew = (name: string, labels: Record<string, string> = {}) => (sample(text, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);
    assert.equal(grew('gatehouse_sign_ins_total', { outcome: 'throttled' }), 1);
    assert.equal(grew('gatehouse_sign_ins_total', { outcome: 'mfa_failed' }), 1);
  });

  it('counts a sign-in the upstream provider path refuses as federation_refused', async () => {
    const before = await scrape();
    const pending = { uid: uniqueName('uid'), providerId: randomUUID(), verifier: 'v', nonce: 'n' };
    const result = await gh.context.federation.complete(gh.context.tenantId, {
      pending,
      state: 's',
      callbackUrl: new URL('http://127.0.0.1/federation/callback?code=c&state=s'),
      redirectUri: 'http://127.0.0.1/federation/callback',
      ip: '198.51.100.9',
      userAgent: null,
    });
    assert.deepEqual([result.kind, result.kind === 'refused' && result.reason], ['refused', 'provider_unavailable']);
    const text = await scrape();
    assert.equal((sample(text, 'gatehouse_sign_ins_total', { outcome: 'federation_refused' }) ?? 0) - (sample(before, 'gatehouse_sign_ins_total', { outcome: 'federation_refused' }) ?? 0), 1);
  });

  it('counts a refused passkey as passkey_failed', async () => {
    const before = await scrape();
    const ip = `198.18.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 254) + 1}`;
    // No challenge was issued for this interaction, so the assertion cannot be verified.
    const outcome = await gh.context.signIn.passkey(gh.context.tenantId, { uid: uniqueName('uid'), response: { id: 'AAAA', type: 'public-key' }, ip, userAgent: null });
    assert.deepEqual([outcome.kind, outcome.kind === 'failed' && outcome.reason], ['failed', 'passkey']);
    const text = await scrape();
    assert.equal((sample(text, 'gatehouse_sign_ins_total', { outcome: 'passkey_failed' }) ?? 0) - (sample(before, 'gatehouse_sign_ins_total', { outcome: 'passkey_failed' }) ?? 0), 1);
  });

  it('counts webhook deliveries by outcome: delivered, and retried when the endpoint fails', async () => {
    let status = 204;
    const receiver = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.statusCode = status;
        res.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const admin = await createServiceApiCaller(gh, [], { roles: ['Admin'] });
    const created = await admin.request('POST', '/webhooks', { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, eventTypes: ['user.created'] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    try {
      // Earlier events of the tenant go out first, so the counts below are this test's.
      await gh.context.webhooks.run();
      const before = await scrape();
      await gh.context.users.create({ username: uniqueName('hooked') }, SYSTEM_ACTOR);
      await gh.context.webhooks.run();
      status = 500;
      await gh.context.users.create({ username: uniqueName('hooked') }, SYSTEM_ACTOR);
      await gh.context.webhooks.run();
      const text = await scrape();
      const grew = (labels: Record<string, string>) => (sample(text, 'gatehouse_webhook_deliveries_total', labels) ?? 0) - (sample(before, 'gatehouse_webhook_deliveries_total', labels) ?? 0);
      assert.equal(grew({ outcome: 'delivered' }), 1);
      assert.equal(grew({ outcome: 'retried' }), 1);
    } finally {
      await admin.request('DELETE', `/webhooks/${created.body.id}`);
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });

  it("traces a request with nested database and store spans, continuing the caller's trace", async () => {
    spans.reset();
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const response = await fetch(`${gh.issuer}/token`, {
      method: 'POST',
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01`, 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'not-a-real-token' }),
    });
    assert.equal(response.status, 400);
    const finished: ReadableSpan[] = spans.getFinishedSpans();
    const server = finished.find((span) => span.attributes['http.route'] === 'oidc:token');
    assert.ok(server, `a server span for the token request: ${finished.map((s) => s.name).join(', ')}`);
    assert.equal(server.name, 'POST oidc:token');
    assert.equal(server.spanContext().traceId, traceId, "the caller's trace continues");
    assert.equal(server.attributes['http.response.status_code'], 400);
    const children = finished.filter((span) => span.parentSpanContext?.spanId === server.spanContext().spanId);
    assert.ok(
      children.some((span) => span.name.startsWith('db ')),
      `a database span inside the request: ${children.map((s) => s.name).join(', ')}`,
    );
    assert.ok(
      children.some((span) => /^(redis|memory) /.test(span.name)),
      `a store span inside the request: ${children.map((s) => s.name).join(', ')}`,
    );
    // Spans name the operation only, never a statement or a key.
    for (const span of children) assert.deepEqual(Object.keys(span.attributes).sort(), ['db.operation.name', 'db.system.name']);
  });
});
