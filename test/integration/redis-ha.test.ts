// Gatehouse on a real Redis Cluster (three primaries, three replicas) and on a real Sentinel set,
// both started by the test on loopback ports: sign-ins keep working while the primary holding
// Gatehouse's keys fails over, nobody who was signed in is signed out, and a directory change made
// on one node reaches the other through pub/sub on the cluster. Part of the PostgreSQL + Redis
// pass (REDIS_URL set); without it the suite is reported as pending, never silently passed.
import assert from 'node:assert/strict';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { createApiCaller } from '../helpers/admin-api.ts';
import { startTestGatehouse, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { HttpClient } from '../helpers/http.ts';
import { createWebClient, signIn, startAuthorization, type WebClient } from '../helpers/oidc.ts';
import { startCluster, startSentinels } from '../helpers/redis-servers.ts';
import { rawRefresh } from '../helpers/sessions.ts';

const REDIRECT_URI = 'http://localhost:8152/callback';
const PASSWORD = 'highly available sign-in 42';

interface SignedIn {
  username: string;
  browser: HttpClient;
  refreshToken: string;
}

async function signInNewUser(gh: TestGatehouse, app: WebClient): Promise<SignedIn> {
  const username = uniqueName('ha');
  await gh.context.users.create({ username, password: PASSWORD }, SYSTEM_ACTOR);
  const browser = new HttpClient(gh.issuer);
  const { tokens } = await signIn({ gatehouse: gh, config: app.config, redirectUri: REDIRECT_URI, username, password: PASSWORD, scope: 'openid', browser });
  assert.ok(tokens.refresh_token, 'a refresh token');
  return { username, browser, refreshToken: tokens.refresh_token };
}

/**
 * Signs users in on `workers` parallel loops while `failover` runs: the failover starts once
 * every loop has completed a sign-in, and each loop completes one more after it has finished,
 * so sign-ins are in flight before, during and after it.
 */
async function signInsAcross(gh: TestGatehouse, app: WebClient, failover: () => Promise<unknown>, workers = 4): Promise<SignedIn[]> {
  const signedIn: SignedIn[] = [];
  let done = false;
  const firstRound: Promise<void>[] = [];
  const loops = Array.from({ length: workers }, (_, worker) => {
    let markFirst!: () => void;
    firstRound[worker] = new Promise<void>((resolve) => (markFirst = resolve));
    return (async () => {
      for (;;) {
        const finishedBefore = done;
        signedIn.push(await signInNewUser(gh, app));
        markFirst();
        if (finishedBefore) return;
      }
    })();
  });
  // A loop that fails before its first sign-in must fail the test, not leave it waiting.
  await Promise.race([Promise.all(firstRound), Promise.all(loops)]);
  await failover();
  done = true;
  await Promise.all(loops);
  return signedIn;
}

/** Still signed in: the browser's session is reused without a login page, and the refresh token works. */
async function assertStillSignedIn(gh: TestGatehouse, app: WebClient, who: SignedIn): Promise<void> {
  const again = await startAuthorization({ gatehouse: gh, config: app.config, redirectUri: REDIRECT_URI, scope: 'openid', browser: who.browser });
  assert.ok(again.callbackUrl, `${who.username} was asked to sign in again (status ${again.response.status} at ${again.response.url.href})`);
  const refreshed = await rawRefresh(gh.url, app, who.refreshToken);
  assert.equal(refreshed.status, 200, `${who.username}'s refresh: ${JSON.stringify(refreshed.body)}`);
  who.refreshToken = refreshed.body.refresh_token!;
}

/** Two users signed in before `fault` and more while it happens, all still signed in after it; returns the first two. */
async function assertNobodySignedOut(gh: TestGatehouse, app: WebClient, fault: () => Promise<unknown>): Promise<SignedIn[]> {
  const before = [await signInNewUser(gh, app), await signInNewUser(gh, app)];
  const during = await signInsAcross(gh, app, fault);
  for (const who of [...before, ...during]) await assertStillSignedIn(gh, app, who);
  return before;
}

interface HaSuite<S> {
  servers: S;
  /** The Gatehouse nodes on the servers; the first one holds `app`. */
  nodes: TestGatehouse[];
  app: WebClient;
}

/**
 * For a suite on Redis servers that `start` makes (skipped without REDIS_URL): the servers, the
 * Gatehouse nodes `startNodes` runs on them through `startNode` and a web application, filled in
 * by a `before` hook; the nodes close before the servers stop.
 */
function haSuite<S extends { stop(): Promise<void> }>(start: () => Promise<S>, startNodes: (servers: S, startNode: (env: Record<string, string>) => Promise<TestGatehouse>) => Promise<unknown>): HaSuite<S> {
  const suite = { nodes: [] } as unknown as HaSuite<S>;
  let servers: S | undefined;
  before(async function () {
    if (!process.env.REDIS_URL) return this.skip();
    servers = await start();
    suite.servers = servers;
    await startNodes(servers, async (env) => {
      const node = await startTestGatehouse(env);
      suite.nodes.push(node);
      return node;
    });
    suite.app = await createWebClient(suite.nodes[0]!, uniqueName('HA App'), REDIRECT_URI);
  });
  after(async () => {
    for (const node of [...suite.nodes].reverse()) await node.close();
    await servers?.stop();
  });
  return suite;
}

describe('Redis Cluster (three primaries, started by the test)', function () {
  this.timeout(120_000);
  const ha = haSuite(startCluster, async (cluster, startNode) => {
    const a = await startNode({ REDIS_URL: '', REDIS_CLUSTER_NODES: cluster.seeds });
    // Node B learns the cluster from other seed nodes than A.
    await startNode({
      REDIS_URL: '',
      REDIS_CLUSTER_NODES: cluster.nodes
        .slice(3)
        .map((n) => `127.0.0.1:${n.port}`)
        .join(','),
      GATEHOUSE_REDIS_PREFIX: a.config.redisPrefix,
      GATEHOUSE_ISSUER: a.issuer,
    });
  });

  it('is configured as a cluster', function () {
    const [a] = ha.nodes;
    assert.equal(a!.config.redis?.mode, 'cluster');
    assert.equal(a!.context.store.kind, 'redis');
  });

  it('a role changed on node A shows in node B’s claims at once (pub/sub invalidation on the cluster)', async () => {
    const [a, b] = ha.nodes;
    const admin = await createApiCaller(a!, { permissions: 'all', dataScope: { client: ['*'] } });
    const created = await admin.request('POST', '/identities', { username: uniqueName('cluster'), kind: 'client', alias: 'Cluster' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const identityId: string = created.body.identity.id;
    assert.deepEqual((await b!.context.authorization.forIdentity(identityId))?.roles, [], 'B has computed and cached the claims');
    const roleName = uniqueName('Cluster Viewer');
    const role = await admin.request('POST', '/roles', { name: roleName, permissions: [] });
    assert.equal(role.status, 201, JSON.stringify(role.body));
    assert.equal((await admin.request('POST', `/identities/${identityId}/roles`, { roleIds: [role.body.id] })).status, 200);
    assert.deepEqual((await b!.context.authorization.forIdentity(identityId))?.roles, [roleName]);
  });

  it('signs users in while the primary holding Gatehouse’s slot fails over (CLUSTER FAILOVER), and signs nobody out', async () => {
    const [a, b] = ha.nodes;
    let moved: { from: number; to: number } | undefined;
    const before = await assertNobodySignedOut(a!, ha.app, async () => {
      moved = await ha.servers.failoverSlotOf(`{${a!.config.redisPrefix}}`);
    });
    assert.ok(moved && moved.from !== moved.to, 'the slot moved to another node');
    // Node B, which has not talked to the cluster since, follows the new slot map too.
    for (const who of before) assert.equal((await rawRefresh(b!.url, ha.app, who.refreshToken)).status, 200);
  });
});

describe('Redis Sentinel (a primary, a replica and three sentinels, started by the test)', function () {
  this.timeout(120_000);
  const ha = haSuite(startSentinels, (sentinels, startNode) => startNode({ REDIS_URL: '', REDIS_SENTINELS: sentinels.seeds, REDIS_SENTINEL_NAME: sentinels.name }));

  it('is configured through the sentinels', function () {
    assert.equal(ha.nodes[0]!.config.redis?.mode, 'sentinel');
  });

  it('signs users in while the primary goes down and the sentinels promote the replica, and signs nobody out', async () => {
    let promoted: number | undefined;
    await assertNobodySignedOut(ha.nodes[0]!, ha.app, async () => {
      promoted = await ha.servers.killPrimary();
    });
    assert.equal(promoted, ha.servers.replica.port, 'the replica is the primary now');
  });
});
