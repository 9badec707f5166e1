// Webhooks from the audit outbox, end to end: a real HTTP receiver on loopback verifies every
// Standard Webhooks signature; a change and its event commit or roll back together (a failure
// at commit, a process killed mid-transaction); retries with back-off; disabling after repeated
// failures and enabling again; replay; delivered once with two nodes running the job.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { createApiCaller, createServiceApiCaller, type ApiCaller } from '../helpers/admin-api.ts';
import { startTestGatehouse, TestClock, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';

interface Received {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  payload: { type: string; timestamp: string; data: { target: { type: string; id: string } | null; details: Record<string, unknown> } };
}

/** A webhook receiver on loopback: records every request, answers what `answer` says. */
async function startReceiver() {
  const received: Received[] = [];
  const receiver = {
    received,
    answer: (_r: Received): number => 204,
    url: '',
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const r: Received = { id: String(req.headers['webhook-id']), timestamp: String(req.headers['webhook-timestamp']), signature: String(req.headers['webhook-signature']), body, payload: JSON.parse(body) };
      received.push(r);
      res.statusCode = receiver.answer(r);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return receiver;
}

/** A new Admin of `gh`, and the webhook to `url` for user.created it subscribed. */
async function adminWithWebhook(gh: TestGatehouse, url: string): Promise<{ admin: ApiCaller; webhookId: string }> {
  const admin = await createApiCaller(gh, { permissions: [], roles: ['Admin'] });
  const created = await admin.request('POST', '/webhooks', { url, eventTypes: ['user.created'] });
  assert.equal(created.status, 201);
  return { admin, webhookId: created.body.id };
}

/** Standard Webhooks verification, written from the specification (not Gatehouse's code). */
function verify(secret: string, r: Received): boolean {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key).update(`${r.id}.${r.timestamp}.${r.body}`).digest('base64');
  return r.signature.split(' ').some((s) => s === `v1,${expected}`);
}

describe('webhooks', function () {
  this.timeout(120_000);
  const clock = new TestClock();
  let gh: TestGatehouse;
  let admin: ApiCaller;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const endpoints: string[] = [];

  before(async () => {
    gh = await startTestGatehouse({ GATEHOUSE_BACKCHANNEL_ALLOW_PRIVATE: 'true' }, { clock });
    // A service account: its token belongs to no session, so it outlives the days the clock moves.
    // Only an Admin subscribes an endpoint to the tenant's events.
    admin = await createServiceApiCaller(gh, [], { roles: ['Admin'] });
    receiver = await startReceiver();
  });
  beforeEach(async () => {
    receiver.received.length = 0;
    receiver.answer = () => 204;
    // Events of earlier tests are fanned out (and delivered) before each test subscribes.
    await gh.context.webhooks.run();
    receiver.received.length = 0;
  });
  // Each test's endpoints go with it, so the next test's receiver hears only its own.
  afterEach(async () => {
    for (const id of endpoints.splice(0)) await admin.request('DELETE', `/webhooks/${id}`);
  });
  after(async () => {
    await receiver?.close();
    await gh?.close();
  });

  async function subscribe(eventTypes: string[], url = receiver.url) {
    const created = await admin.request('POST', '/webhooks', { url, eventTypes, description: 'test receiver' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    endpoints.push(created.body.id);
    return created.body as { id: string; secret: string };
  }
  const aboutUser = (userId: string) => receiver.received.filter((r) => r.payload.data.target?.id === userId);

  it('delivers an event signed per Standard Webhooks, and shows the secret only once', async () => {
    const endpoint = await subscribe(['user.*']);
    assert.match(endpoint.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    const read = await admin.request('GET', `/webhooks/${endpoint.id}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.secret, undefined);
    assert.ok(!JSON.stringify((await admin.request('GET', '/webhooks')).body).includes(endpoint.secret));

    const user = await gh.context.users.create({ username: uniqueName('hooked') }, SYSTEM_ACTOR);
    const ran = await gh.context.webhooks.run();
    assert.ok(ran.attempted >= 1);
    const [event] = aboutUser(user.id);
    assert.ok(event, 'the receiver got the user.created event');
    assert.equal(event.payload.type, 'user.created');
    assert.match(event.id, /^[0-9a-f-]{36}$/);
    assert.ok(verify(endpoint.secret, event), 'the signature verifies with the secret shown at creation');
    assert.ok(!verify(`whsec_${Buffer.alloc(32).toString('base64')}`, event), 'and not with another secret');

    const log = await admin.request('GET', `/webhooks/${endpoint.id}/deliveries`);
    const delivery = log.body.items.find((d: { eventId: string }) => d.eventId === event.id);
    assert.equal(delivery.status, 'succeeded');
    assert.equal(delivery.attempts, 1);
    assert.equal(delivery.lastStatusCode, 204);
  });

  it('sends an endpoint only the event types it subscribed to', async () => {
    const endpoint = await subscribe(['user.status_changed', 'user.deleted']);
    const user = await gh.context.users.create({ username: uniqueName('filtered') }, SYSTEM_ACTOR);
    await gh.context.users.remove(user.id, SYSTEM_ACTOR);
    await gh.context.webhooks.run();
    const log = await admin.request('GET', `/webhooks/${endpoint.id}/deliveries`);
    const types = log.body.items.map((d: { eventType: string }) => d.eventType);
    assert.ok(types.includes('user.deleted'), JSON.stringify(types));
    assert.ok(!types.includes('user.created'), JSON.stringify(types));
  });

  it('writes no event when the change rolls back, and no change when its event fails (both at commit)', async () => {
    await subscribe(['user.created']);
    const { knex } = gh.context;
    // A failure after the change and its event were written, inside the transaction: at commit.
    await knex.raw(`create or replace function test_refuse_doomed() returns trigger language plpgsql as $$
      begin if new.payload::text like '%doomed-%' then raise exception 'refused by the test'; end if; return new; end $$`);
    await knex.raw('create constraint trigger test_refuse_doomed after insert on webhook_events deferrable initially deferred for each row execute function test_refuse_doomed()');
    const username = uniqueName('doomed');
    try {
      await assert.rejects(gh.context.users.create({ username }, SYSTEM_ACTOR), /refused by the test/);
    } finally {
      await knex.raw('drop trigger test_refuse_doomed on webhook_events');
      await knex.raw('drop function test_refuse_doomed()');
    }
    assert.equal(await knex('users').where({ username }).first(), undefined, 'no user without its event');
    assert.equal((await knex('webhook_events').whereRaw('payload::text like ?', [`%${username}%`])).length, 0, 'no event without its change');
    assert.equal((await knex('audit_events').whereRaw('details::text like ?', [`%${username}%`])).length, 0);
    await gh.context.webhooks.run();
    assert.equal(receiver.received.filter((r) => r.body.includes(username)).length, 0);

    // The same change without the failure: both are there.
    const kept = uniqueName('kept');
    await gh.context.users.create({ username: kept }, SYSTEM_ACTOR);
    assert.equal((await knex('webhook_events').whereRaw('payload::text like ?', [`%${kept}%`])).length, 1);
  });

  it('keeps neither the change nor its event when the process dies mid-transaction', async function () {
    if (!process.env.DATABASE_URL) return this.skip(); // the embedded database belongs to one process
    const { knex } = gh.context;
    // Holds the child's transaction open after the change, at the event's insert.
    await knex.raw(`create or replace function test_hold_killed() returns trigger language plpgsql as $$
      begin if new.payload::text like '%killed-%' then perform pg_sleep(3); end if; return new; end $$`);
    await knex.raw('create trigger test_hold_killed before insert on webhook_events for each row execute function test_hold_killed()');
    const username = uniqueName('killed');
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/create-user-child.ts', username], { env: process.env, stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      // Wait until the child's backend is inside the trigger (its transaction open, in the audit append that writes the event), then kill it.
      let backend: number | undefined;
      while (backend === undefined) {
        const rows = (await knex.raw("select pid from pg_stat_activity where datname = current_database() and wait_event = 'PgSleep' and query like '%gatehouse_audit_append%'")).rows as { pid: number }[];
        backend = rows[0]?.pid;
        if (backend === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      child.kill('SIGKILL');
      await exited;
      // The server ends the orphaned transaction once the trigger returns and the client is gone.
      while (((await knex.raw('select 1 from pg_stat_activity where pid = ?', [backend])).rows as unknown[]).length) await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await knex.raw('drop trigger test_hold_killed on webhook_events');
      await knex.raw('drop function test_hold_killed()');
    }
    assert.equal(await knex('users').where({ username }).first(), undefined, 'no user');
    assert.equal((await knex('webhook_events').whereRaw('payload::text like ?', [`%${username}%`])).length, 0, 'no event');
  });

  it('retries a failed delivery with back-off, under the same webhook-id', async () => {
    const endpoint = await subscribe(['user.created']);
    let calls = 0;
    receiver.answer = () => (++calls === 1 ? 503 : 200);
    const user = await gh.context.users.create({ username: uniqueName('retried') }, SYSTEM_ACTOR);
    await gh.context.webhooks.run();
    assert.equal(aboutUser(user.id).length, 1);
    const log = async () => (await admin.request('GET', `/webhooks/${endpoint.id}/deliveries`)).body.items.find((d: { eventType: string; eventId: string }) => d.eventId === aboutUser(user.id)[0]!.id);
    const failed = await log();
    assert.equal(failed.status, 'pending');
    assert.equal(failed.attempts, 1);
    assert.equal(failed.lastStatusCode, 503);
    assert.ok(new Date(failed.nextAttemptAt).getTime() > clock.now());

    await gh.context.webhooks.run();
    assert.equal(aboutUser(user.id).length, 1, 'not retried before its time');
    clock.advance(11);
    await gh.context.webhooks.run();
    const [first, second] = aboutUser(user.id);
    assert.equal(second?.id, first!.id);
    assert.ok(verify(endpoint.secret, second!));
    const done = await log();
    assert.equal(done.status, 'succeeded');
    assert.equal(done.attempts, 2);
  });

  it('disables an endpoint after repeated failures, with an audit notice, and resumes when enabled again', async () => {
    const endpoint = await subscribe(['user.created']);
    receiver.answer = () => 500;
    const users = [await gh.context.users.create({ username: uniqueName('unlucky') }, SYSTEM_ACTOR), await gh.context.users.create({ username: uniqueName('unlucky') }, SYSTEM_ACTOR)];
    for (let run = 0; run < 20; run += 1) {
      await gh.context.webhooks.run();
      if ((await admin.request('GET', `/webhooks/${endpoint.id}`)).body.status === 'disabled') break;
      clock.advance(6 * 3600 + 1);
    }
    const disabled = await admin.request('GET', `/webhooks/${endpoint.id}`);
    assert.equal(disabled.body.status, 'disabled');
    assert.match(disabled.body.disabledReason, /failed attempts in a row/);
    const notices = await gh.context.audit.list(gh.context.tenantId, { action: 'webhook.endpoint_disabled', targetId: endpoint.id });
    assert.equal(notices.length, 1);

    const sent = receiver.received.length;
    clock.advance(6 * 3600 + 1);
    await gh.context.webhooks.run();
    assert.equal(receiver.received.length, sent, 'a disabled endpoint gets nothing');

    receiver.answer = () => 200;
    const enabled = await admin.request('PATCH', `/webhooks/${endpoint.id}`, { enabled: true });
    assert.equal(enabled.body.status, 'active');
    clock.advance(6 * 3600 + 1);
    await gh.context.webhooks.run();
    const log = (await admin.request('GET', `/webhooks/${endpoint.id}/deliveries`)).body.items as { status: string }[];
    assert.equal(log.filter((d) => d.status === 'succeeded').length, users.length);
  });

  it('replays a delivery on request, with the same webhook-id', async () => {
    const endpoint = await subscribe(['user.created']);
    const user = await gh.context.users.create({ username: uniqueName('replayed') }, SYSTEM_ACTOR);
    await gh.context.webhooks.run();
    const [first] = aboutUser(user.id);
    const delivery = (await admin.request('GET', `/webhooks/${endpoint.id}/deliveries`)).body.items.find((d: { eventId: string }) => d.eventId === first!.id);
    const replayed = await admin.request('POST', `/webhooks/${endpoint.id}/deliveries/${delivery.id}/replay`);
    assert.equal(replayed.status, 200, JSON.stringify(replayed.body));
    assert.equal(replayed.body.status, 'pending');
    await gh.context.webhooks.run();
    const again = aboutUser(user.id);
    assert.equal(again.length, 2);
    assert.equal(again[1]!.id, first!.id);
    assert.equal((await admin.request('POST', `/webhooks/${endpoint.id}/deliveries/${endpoint.id}/replay`)).status, 404);
  });

  it('refuses endpoint URLs outside the back-channel logout rules, and malformed subscriptions', async () => {
    for (const body of [
      { url: 'http://example.com/hook', eventTypes: ['*'] },
      { url: 'ftp://example.com/hook', eventTypes: ['*'] },
      { url: 'https://example.com/hook#x', eventTypes: ['*'] },
      { url: 'https://example.com/hook', eventTypes: [] },
      { url: 'https://example.com/hook', eventTypes: ['User Created'] },
    ]) {
      const response = await admin.request('POST', '/webhooks', body);
      assert.equal(response.status, 400, JSON.stringify(body));
    }
  });

  it('documents the payload and its headers in the OpenAPI document', async () => {
    const doc = (await (await fetch(new URL('/api/v1/openapi.json', gh.url))).json()) as { webhooks: Record<string, { post: { parameters: { name: string }[] } }> };
    assert.deepEqual(
      doc.webhooks.event!.post.parameters.map((p) => p.name),
      ['webhook-id', 'webhook-timestamp', 'webhook-signature'],
    );
  });
});

describe('webhooks without GATEHOUSE_BACKCHANNEL_ALLOW_PRIVATE', function () {
  this.timeout(60_000);
  let gh: TestGatehouse;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  before(async () => {
    gh = await startTestGatehouse();
    receiver = await startReceiver();
  });
  after(async () => {
    await receiver?.close();
    await gh?.close();
  });

  it('sends nothing to a loopback address: the delivery fails as refused', async () => {
    const { admin, webhookId } = await adminWithWebhook(gh, receiver.url);
    await gh.context.users.create({ username: uniqueName('ssrf') }, SYSTEM_ACTOR);
    await gh.context.webhooks.run();
    assert.equal(receiver.received.length, 0);
    const log = await admin.request('GET', `/webhooks/${webhookId}/deliveries`);
    assert.match(log.body.items[0].lastError, /not a public address/);
    assert.equal((await admin.request('DELETE', `/webhooks/${webhookId}`)).status, 204);
  });
});

// Two nodes on one PostgreSQL and Redis, both running the delivery job at the same moment.
describe('webhooks on two nodes', function () {
  this.timeout(120_000);
  let a: TestGatehouse;
  let b: TestGatehouse | undefined;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  before(async function () {
    if (!process.env.DATABASE_URL || !process.env.REDIS_URL) return this.skip();
    a = await startTestGatehouse({ GATEHOUSE_BACKCHANNEL_ALLOW_PRIVATE: 'true' });
    b = await startTestGatehouse({ GATEHOUSE_BACKCHANNEL_ALLOW_PRIVATE: 'true', GATEHOUSE_REDIS_PREFIX: a.config.redisPrefix });
    receiver = await startReceiver();
  });
  after(async () => {
    await receiver?.close();
    await b?.close();
    await a?.close();
  });

  it('delivers each event once', async () => {
    const { admin, webhookId } = await adminWithWebhook(a, receiver.url);
    try {
      const users = [];
      for (let i = 0; i < 30; i += 1) users.push(await a.context.users.create({ username: uniqueName('twice') }, SYSTEM_ACTOR));
      await Promise.all([a.context.webhooks.run(), b!.context.webhooks.run(), a.context.webhooks.run(), b!.context.webhooks.run()]);
      const ids = new Set(users.map((u) => u.id));
      const mine = receiver.received.filter((r) => ids.has(r.payload.data.target?.id ?? ''));
      assert.equal(mine.length, 30);
      assert.equal(new Set(mine.map((r) => r.id)).size, 30, 'no event twice');
    } finally {
      await admin.request('DELETE', `/webhooks/${webhookId}`);
    }
  });
});
