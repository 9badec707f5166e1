// Account security end to end on one Gatehouse: lockout and throttling, identical
// failure answers, TOTP and recovery codes, amr/acr, password history, the forgotten-password
// flow, the admin API for the policy, unlock and MFA reset, imported hashes, and the notification
// mails, read from a real SMTP server running in-process.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import argon2 from 'argon2';
import bcrypt from 'bcryptjs';
import * as client from 'openid-client';
import { generate } from 'otplib';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { applySeed } from '../../src/services/seed.ts';
import type { UserEvent } from '../../src/services/user-events.ts';
import { createApiCaller, type ApiCaller } from '../helpers/admin-api.ts';
import { appError } from '../helpers/assertions.ts';
import { csrfOf, signInToAccount } from '../helpers/account.ts';
import { startTestGatehouse, storageMode, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { formWith, HttpClient, textOfId, type HttpResponse } from '../helpers/http.ts';
import { discover, startAuthorization, submitLogin } from '../helpers/oidc.ts';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp.ts';

const CALLBACK = 'http://localhost:8125/callback';
const request = { ip: '198.51.100.7', userAgent: 'test' };

describe(`account security (${storageMode})`, function () {
  this.timeout(120_000);
  let gh: TestGatehouse;
  let smtp: TestSmtpServer;
  let admin: ApiCaller;
  let app: { clientId: string; config: client.Configuration };
  const events: UserEvent[] = [];
  const tenant = () => gh.context.tenantId;

  async function newUser(extra: { email?: boolean; password?: string } = {}) {
    const username = uniqueName('sec');
    const password = extra.password ?? `pw-${randomUUID()}`;
    const email = extra.email === false ? undefined : `${username}@example.test`;
    const user = await gh.context.users.create({ username, password, email, name: 'Sam Secure' }, SYSTEM_ACTOR);
    return { ...user, password, email: email ?? '' };
  }

  async function setPolicy(policy: Record<string, unknown>) {
    await gh.context.passwordPolicies.replace(tenant(), policy, SYSTEM_ACTOR);
  }

  async function loginPage(browser?: HttpClient) {
    const started = await startAuthorization({ gatehouse: gh, config: app.config, redirectUri: CALLBACK, scope: 'openid', ...(browser ? { browser } : {}) });
    return started;
  }

  /** The page after submitting a login form, with the per-request parts (uid, nonce) and the username blanked. */
  const normalized = (page: HttpResponse, username: string) =>
    page.body
      .replaceAll(username, 'USER')
      .replace(/\/interaction\/[A-Za-z0-9_-]+/g, '/interaction/UID')
      .replace(/nonce="[^"]+"/g, 'nonce="N"')
      // The passkey options carry a fresh challenge per page, like the nonce.
      .replace(/data-options="[^"]+"/g, 'data-options="O"');

  before(async () => {
    smtp = await startSmtpServer();
    // Lower argon2 cost keeps the 200 parallel attempts below quick; the code path is the same.
    gh = await startTestGatehouse({ SMTP_URL: smtp.url, GATEHOUSE_ARGON2_MEMORY_KIB: '1024', GATEHOUSE_ARGON2_TIME_COST: '1', GATEHOUSE_PASSWORD_HASH_QUEUE: '1000' });
    gh.context.events.on(async (event) => {
      events.push(event);
    });
    admin = await createApiCaller(gh, { permissions: 'all' });
    const created = await gh.context.applications.create({ name: uniqueName('sec-app'), type: 'spa', redirectUris: [CALLBACK], firstParty: true }, SYSTEM_ACTOR);
    app = { clientId: created.application.id, config: await discover(gh, created.application.id) };
  });
  beforeEach(async () => setPolicy({ ipThrottle: { maxFailures: 100_000, windowSeconds: 900 } }));
  after(async () => {
    // The policy is the tenant's: leave the shared database as the other test files expect it.
    await gh?.context.knex('password_policies').where({ tenant_id: gh.context.tenantId }).delete();
    await gh?.close();
    await smtp?.close();
  });

  describe('lockout and throttling', () => {
    it('200 parallel wrong passwords lock the account at exactly N, once', async () => {
      const N = 7;
      await setPolicy({ lockout: { threshold: N, cooldownSeconds: 300, maxCooldownSeconds: 3600 }, ipThrottle: { maxFailures: 100_000, windowSeconds: 900 } });
      const user = await newUser();
      const outcomes = await Promise.all(Array.from({ length: 200 }, () => gh.context.signIn.password(tenant(), { uid: randomUUID(), login: user.username, password: 'wrong-password-guess', ...request })));
      const reasons = outcomes.map((o) => (o.kind === 'failed' ? o.reason : o.kind));
      assert.equal(reasons.filter((r) => r === 'password').length, N, 'exactly N attempts were judged as wrong passwords');
      assert.equal(reasons.filter((r) => r === 'locked').length, 200 - N, 'the rest met a lock');
      const locks = await gh.context.audit.list(tenant(), { action: 'user.locked', targetId: user.id });
      assert.equal(locks.length, 1, 'one lock');
      assert.equal((locks[0]!.details as { failures: number }).failures, N);
      assert.equal(events.filter((e) => e.type === 'user.locked' && e.userId === user.id).length, 1, 'user.locked emitted once');
      const view = await admin.request('GET', `/users/${user.id}`);
      assert.equal(view.body.status, 'locked');
      assert.ok(Date.parse(view.body.lockedUntil) > Date.now(), 'the status says until when');
      // Locked: even the right password is refused, the same way.
      const right = await gh.context.signIn.password(tenant(), { uid: randomUUID(), login: user.username, password: user.password, ...request });
      assert.deepEqual([right.kind, right.kind === 'failed' && right.reason], ['failed', 'locked']);
      // The lock notice reached the user.
      const [mail] = await smtp.waitFor(user.email);
      assert.match(mail!.subject, /locked/);
    });

    it('answers unknown, locked and wrong-password attempts identically, each at the cost of one hash verification', async () => {
      await setPolicy({ lockout: { threshold: 2, cooldownSeconds: 300, maxCooldownSeconds: 3600 }, ipThrottle: { maxFailures: 100_000, windowSeconds: 900 } });
      const wrong = await newUser();
      const locked = await newUser();
      for (let i = 0; i < 2; i += 1) await gh.context.signIn.password(tenant(), { uid: randomUUID(), login: locked.username, password: 'not-it', ...request });
      assert.equal((await gh.context.users.findById(locked.id))?.status, 'locked');
      const pages: string[] = [];
      const statuses: number[] = [];
      for (const [login, password] of [
        [uniqueName('nobody'), 'whatever-pw'],
        [locked.username, locked.password],
        [wrong.username, 'whatever-pw'],
      ] as const) {
        const { browser, response } = await loginPage();
        const before = gh.context.passwords.stats.verifications;
        const answer = await submitLogin(browser, response, login, password);
        assert.equal(gh.context.passwords.stats.verifications - before, 1, `one verification for ${login}`);
        statuses.push(answer.status);
        pages.push(normalized(answer, login));
      }
      assert.deepEqual(statuses, [401, 401, 401]);
      assert.equal(pages[1], pages[0], 'locked == unknown');
      assert.equal(pages[2], pages[0], 'wrong password == unknown');
      assert.match(pages[0]!, /Invalid username or password\./);
    });

    it('lifts a lock when its cool-down ends, doubles the next one, and lets an administrator unlock (audited)', async () => {
      await setPolicy({ lockout: { threshold: 1, cooldownSeconds: 60, maxCooldownSeconds: 3600 }, ipThrottle: { maxFailures: 100_000, windowSeconds: 900 } });
      const user = await newUser();
      const fail = () => gh.context.signIn.password(tenant(), { uid: randomUUID(), login: user.username, password: 'nope-nope', ...request });
      const lockedUntil = async () => (await gh.context.lockout.state(tenant(), user.id)).lockedUntil!.getTime();
      const t0 = Date.now();
      await fail();
      assert.ok((await lockedUntil()) - t0 <= 61_000 && (await lockedUntil()) - t0 >= 59_000, 'first cool-down: 60 s');
      // The cool-down runs out (moved into the past rather than waited for).
      await gh.context
        .knex('users')
        .where({ id: user.id })
        .update({ locked_until: new Date(Date.now() - 1000) });
      await fail();
      const second = (await lockedUntil()) - Date.now();
      assert.ok(second > 100_000 && second <= 120_000, `second cool-down doubles to 120 s, got ${second}`);
      const lifted = await gh.context.audit.list(tenant(), { action: 'user.unlocked', targetId: user.id });
      assert.equal((lifted[0]!.details as { reason: string }).reason, 'cool-down ended');

      const unlocked = await admin.request('POST', `/users/${user.id}/unlock`, { reason: 'called the help desk' });
      assert.equal(unlocked.status, 204);
      assert.equal((await admin.request('GET', `/users/${user.id}`)).body.status, 'active');
      assert.equal((await admin.request('POST', `/users/${user.id}/unlock`, {})).status, 409);
      const byAdmin = await gh.context.audit.list(tenant(), { action: 'user.unlocked', targetId: user.id });
      assert.equal(byAdmin[0]!.actorId, admin.userId);
      const history = await admin.request('GET', `/users/${user.id}/status-history`);
      assert.deepEqual(
        history.body.items.slice(0, 2).map((h: { toStatus: string }) => h.toStatus),
        ['active', 'locked'],
      );
      const signedIn = await gh.context.signIn.password(tenant(), { uid: randomUUID(), login: user.username, password: user.password, ...request });
      assert.equal(signedIn.kind, 'done');
    });

    it('throttles an IP address after its failures without checking any more passwords', async () => {
      await setPolicy({ ipThrottle: { maxFailures: 3, windowSeconds: 600 } });
      const user = await newUser();
      const ip = '203.0.113.99';
      for (let i = 0; i < 3; i += 1) await gh.context.signIn.password(tenant(), { uid: randomUUID(), login: uniqueName('x'), password: 'guess-guess', ip, userAgent: null });
      const before = gh.context.passwords.stats.verifications;
      const throttled = await gh.context.signIn.password(tenant(), { uid: randomUUID(), login: user.username, password: user.password, ip, userAgent: null });
      assert.equal(throttled.kind, 'throttled');
      assert.equal(gh.context.passwords.stats.verifications, before, 'no hash verification');
      const elsewhere = await gh.context.signIn.password(tenant(), { uid: randomUUID(), login: user.username, password: user.password, ip: '203.0.113.100', userAgent: null });
      assert.equal(elsewhere.kind, 'done', 'other addresses are not affected');
    });

    it("reserves the address's attempt before checking: 200 parallel wrong sign-ins with maxFailures=20 check at most 20 passwords", async () => {
      await setPolicy({ ipThrottle: { maxFailures: 20, windowSeconds: 600 } });
      const user = await newUser();
      const ip = '203.0.113.120';
      const before = gh.context.passwords.stats.verifications;
      const outcomes = await Promise.all(Array.from({ length: 200 }, (_, i) => gh.context.signIn.password(tenant(), { uid: randomUUID(), login: i % 2 ? user.username : uniqueName('nobody'), password: 'wrong-password-guess', ip, userAgent: null })));
      const checked = gh.context.passwords.stats.verifications - before;
      assert.ok(checked <= 20, `${checked} password verifications for 200 attempts with a limit of 20`);
      assert.equal(outcomes.filter((o) => o.kind === 'throttled').length, 180, 'everything past the 20th was throttled');
      // The right password from the throttled address is not even checked.
      const right = await gh.context.signIn.password(tenant(), { uid: randomUUID(), login: user.username, password: user.password, ip, userAgent: null });
      assert.equal(right.kind, 'throttled');
    });

    it("reserves the account's attempt before checking: 200 parallel wrong passwords from many addresses check the real hash at most N times", async () => {
      const N = 5;
      await setPolicy({ lockout: { threshold: N, cooldownSeconds: 300, maxCooldownSeconds: 3600 }, ipThrottle: { maxFailures: 100_000, windowSeconds: 900 } });
      const user = await newUser();
      const { stats } = gh.context.passwords;
      const [all, dummy] = [stats.verifications, stats.dummyVerifications];
      const outcomes = await Promise.all(
        Array.from({ length: 200 }, (_, i) => gh.context.signIn.password(tenant(), { uid: randomUUID(), login: user.username, password: 'wrong-password-guess', ip: `198.18.${Math.floor(i / 250)}.${i % 250}`, userAgent: null })),
      );
      const real = stats.verifications - all - (stats.dummyVerifications - dummy);
      assert.ok(real <= N, `${real} checks of the real hash with a lockout threshold of ${N}`);
      assert.equal(stats.verifications - all, 200, 'every attempt still cost one verification (the same answer time)');
      assert.equal(outcomes.filter((o) => o.kind === 'failed' && o.reason === 'locked').length, 200 - N);
      // The right password after the N wrong ones finds the account locked; a success gives its
      // reservation back: a user who signs in right does not creep towards the lock.
      assert.equal((await gh.context.users.findById(user.id))?.status, 'locked');
      const other = await newUser();
      for (let i = 0; i < N + 2; i += 1) {
        const done = await gh.context.signIn.password(tenant(), { uid: randomUUID(), login: other.username, password: other.password, ...request });
        assert.equal(done.kind, 'done');
      }
      assert.equal(await gh.context.lockout.failures(tenant(), other.id), 0);
    });

    it('refuses input over 1 KiB without hashing it', async () => {
      const user = await newUser();
      const before = gh.context.passwords.stats.verifications;
      const outcome = await gh.context.signIn.password(tenant(), { uid: randomUUID(), login: user.username, password: 'x'.repeat(1025), ...request });
      assert.equal(outcome.kind, 'failed');
      assert.equal(gh.context.passwords.stats.verifications, before);
      const created = await admin.request('POST', '/users', { username: uniqueName('big'), password: 'y'.repeat(1025) });
      assert.equal(created.status, 400);
    });
  });

  describe('TOTP and recovery codes', () => {
    async function enrolled() {
      const user = await newUser();
      const enrollment = await gh.context.mfa.startEnrollment(tenant(), user);
      const codes = await gh.context.mfa.confirmEnrollment(tenant(), user.id, await generate({ secret: enrollment.secret }), SYSTEM_ACTOR);
      assert.ok(codes && codes.length === 10);
      return { user, secret: enrollment.secret, codes: codes as string[] };
    }

    it('accepts a code once: a replayed code is refused', async () => {
      const { user, secret } = await enrolled();
      // The enrollment used the current step; a code of the previous step (±1 window) is another code.
      const previous = await generate({ secret, epoch: Math.floor(Date.now() / 1000) - 30 });
      assert.equal(await gh.context.mfa.verifyTotp(tenant(), user.id, previous), true, 'a code of the previous step is accepted');
      assert.equal(await gh.context.mfa.verifyTotp(tenant(), user.id, previous), false, 'the same code again is refused');
      const [a, b] = await Promise.all([0, 1].map(async () => gh.context.mfa.verifyTotp(tenant(), user.id, await generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 }))));
      assert.equal([a, b].filter(Boolean).length, 1, 'of two concurrent uses of one code, one succeeds');
      assert.equal(await gh.context.mfa.verifyTotp(tenant(), user.id, await generate({ secret, epoch: Math.floor(Date.now() / 1000) - 120 })), false, 'outside the window');
    });

    it('a recovery code works once, also under concurrent use; regenerating replaces them all', async () => {
      const { user, codes } = await enrolled();
      const results = await Promise.all(Array.from({ length: 8 }, () => gh.context.mfa.useRecoveryCode(tenant(), user.id, codes[0]!.toUpperCase(), SYSTEM_ACTOR)));
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(await gh.context.mfa.useRecoveryCode(tenant(), user.id, codes[0]!, SYSTEM_ACTOR), false);
      assert.equal((await gh.context.mfa.status(tenant(), user.id)).recoveryCodesLeft, 9);
      const fresh = await gh.context.mfa.regenerateRecoveryCodes(tenant(), user.id, SYSTEM_ACTOR);
      assert.equal(await gh.context.mfa.useRecoveryCode(tenant(), user.id, codes[1]!, SYSTEM_ACTOR), false, 'old codes stop working');
      assert.equal(await gh.context.mfa.useRecoveryCode(tenant(), user.id, fresh[1]!, SYSTEM_ACTOR), true);
      const stored: { code_hash: string }[] = await gh.context.knex('recovery_codes').where({ user_id: user.id });
      assert.ok(
        stored.every((row) => !fresh.some((code) => row.code_hash.includes(code.replace('-', '')))),
        'only hashes are stored',
      );
    });

    it('signs in with password and TOTP through the pages, with amr ["pwd","otp"] and the MFA acr in the ID token', async () => {
      const { user, secret } = await enrolled();
      const started = await loginPage();
      const step = await started.browser.follow(await submitLogin(started.browser, started.response, user.username, user.password));
      const codeForm = formWith(step.response, 'code');
      const wrong = await started.browser.postForm(codeForm.action, { code: '000000' });
      assert.equal(wrong.status, 400);
      assert.match(wrong.body, /That code is not valid/);
      const done = await started.browser.follow(await started.browser.postForm(codeForm.action, { code: await generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 }) }));
      assert.ok(done.redirect, `back to the application: ${done.response.body.slice(0, 300)}`);
      const tokens = await client.authorizationCodeGrant(app.config, done.redirect, { pkceCodeVerifier: started.codeVerifier, expectedState: started.state });
      const claims = tokens.claims()!;
      assert.deepEqual(claims.amr, ['pwd', 'otp'], JSON.stringify(claims));
      assert.equal(claims.acr, 'urn:gatehouse:mfa');
      const audit = await gh.context.audit.list(tenant(), { action: 'user.sign_in', targetId: user.id });
      assert.deepEqual((audit[0]!.details as { amr: string[] }).amr, ['pwd', 'otp']);
    });

    it('counts wrong codes towards the lockout: the TOTP step is throttled the same way', async () => {
      await setPolicy({ lockout: { threshold: 3, cooldownSeconds: 300, maxCooldownSeconds: 3600 }, ipThrottle: { maxFailures: 100_000, windowSeconds: 900 } });
      const { user } = await enrolled();
      const uid = randomUUID();
      const first = await gh.context.signIn.password(tenant(), { uid, login: user.username, password: user.password, ...request });
      assert.deepEqual([first.kind, first.kind === 'step' && first.step], ['step', 'totp']);
      const answers = [];
      for (let i = 0; i < 3; i += 1) answers.push((await gh.context.signIn.totp(tenant(), { uid, code: '000000', ...request }))?.kind);
      assert.deepEqual(answers, ['retry', 'retry', 'failed']);
      assert.equal((await gh.context.users.findById(user.id))?.status, 'locked');
    });

    it('asks a session signed in with a password alone to sign in again for an application that requires MFA', async () => {
      const user = await newUser();
      const started = await loginPage();
      const first = await started.browser.follow(await submitLogin(started.browser, started.response, user.username, user.password));
      assert.ok(first.redirect, 'signed in with the password alone');
      assert.equal((await loginPage(started.browser)).callbackUrl?.origin, new URL(CALLBACK).origin, 'the session is reused while no MFA is required');
      await setPolicy({ mfa: { required: false, roles: [], applications: [app.clientId] }, ipThrottle: { maxFailures: 100_000, windowSeconds: 900 } });
      const again = await loginPage(started.browser);
      assert.equal(again.callbackUrl, undefined, 'no code without the second factor');
      const step = await started.browser.follow(await submitLogin(started.browser, again.response, user.username, user.password));
      assert.match(step.response.body, /Set up your authenticator app/, 'the password step leads to setting up a second factor');
    });

    it('requires enrollment when the policy requires MFA for a role, and an administrator can reset it', async () => {
      const role = uniqueName('Treasurer');
      await gh.context.knex('roles').insert({ id: randomUUID(), tenant_id: tenant(), name: role });
      const put = await admin.request('PUT', '/password-policy', { mfa: { required: false, roles: [role], applications: [] }, ipThrottle: { maxFailures: 100_000, windowSeconds: 900 } });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      const user = await newUser();
      const uid = randomUUID();
      assert.equal((await gh.context.signIn.password(tenant(), { uid, login: user.username, password: user.password, ...request })).kind, 'done', 'without the role: no second factor');
      const identity: { id: string } = await gh.context.knex('identities').where({ user_id: user.id }).first('id');
      const roleRow: { id: string } = await gh.context.knex('roles').where({ name: role }).first('id');
      await gh.context.knex('identity_roles').insert({ tenant_id: tenant(), identity_id: identity.id, role_id: roleRow.id });
      const uid2 = randomUUID();
      const step = await gh.context.signIn.password(tenant(), { uid: uid2, login: user.username, password: user.password, ...request });
      assert.deepEqual([step.kind, step.kind === 'step' && step.step], ['step', 'enroll_totp']);
      const enrollment = (await gh.context.signIn.enrollment(tenant(), uid2))!;
      assert.match(enrollment.qrDataUrl, /^data:image\/svg\+xml;base64,/);
      const confirmed = await gh.context.signIn.confirmEnrollment(tenant(), { uid: uid2, code: await generate({ secret: enrollment.secret }), ...request });
      assert.equal(confirmed?.outcome.kind, 'done');
      assert.equal(confirmed?.recoveryCodes?.length, 10);
      assert.equal((await admin.request('GET', `/users/${user.id}/security`)).body.totp, 'enabled');
      assert.equal((await admin.request('DELETE', `/users/${user.id}/mfa`)).status, 204);
      assert.equal((await admin.request('GET', `/users/${user.id}/security`)).body.totp, 'none');
      assert.equal((await admin.request('DELETE', `/users/${user.id}/mfa`)).status, 404);
      const mails = await smtp.waitFor(user.email, 2);
      assert.ok(mails.some((m) => /An authenticator app was set up/.test(m.text)) && mails.some((m) => /was removed/.test(m.text)), 'MFA changes are mailed');
    });
  });

  describe('passwords', () => {
    it('refuses reuse within the history, on the account page, with its own message', async () => {
      await setPolicy({ historyCount: 3, ipThrottle: { maxFailures: 100_000, windowSeconds: 900 } });
      const user = await newUser();
      const { browser, page } = await signInToAccount(gh, user.username, user.password, '/account/password');
      const change = async (current: string, next: string) => browser.postForm('/account/password', { _csrf: csrfOf(page), current_password: current, new_password: next, confirm_password: next });
      const a = `alpha-new-${randomUUID()}`;
      const b = `bravo-new-${randomUUID()}`;
      assert.equal((await change(user.password, a)).status, 200);
      assert.equal((await change(a, b)).status, 200);
      const reused = await change(b, user.password);
      assert.equal(reused.status, 400);
      assert.match(reused.body, /data-rule="history"/);
      assert.match(reused.body, /last 3 passwords/);
      const wrongCurrent = await change('not-the-password', `third-${randomUUID()}`);
      assert.match(wrongCurrent.body, /current password is not correct/);
      const changed = events.filter((e) => e.type === 'user.password_changed' && e.userId === user.id);
      assert.equal(changed.length, 2);
      assert.ok(
        changed.every((e) => e.type === 'user.password_changed' && typeof e.sessionUid === 'string'),
        'the event names the session it was changed in',
      );
      const mails = await smtp.waitFor(user.email, 2);
      assert.ok(mails.every((m) => /password was changed/.test(m.subject)));
    });

    it('names each violated rule in the API, and audits a policy that departs from NIST', async () => {
      const put = await admin.request('PUT', '/password-policy', { minLength: 12, requireDigit: true, requireSymbol: true, expiryDays: 90, reminderDays: 10, ipThrottle: { maxFailures: 100_000, windowSeconds: 900 } });
      assert.equal(put.status, 200);
      assert.deepEqual(
        put.body.departuresFromNist.map((d: { setting: string }) => d.setting),
        ['minLength', 'requireDigit', 'requireSymbol', 'expiryDays'],
      );
      const event = (await gh.context.audit.list(tenant(), { action: 'password_policy.replaced' }))[0]!;
      assert.deepEqual((event.details as { newDepartures: string[] }).newDepartures, ['minLength', 'requireDigit', 'requireSymbol', 'expiryDays']);
      assert.equal(event.actorId, admin.userId);
      const username = uniqueName('pol');
      const refused = await admin.request('POST', '/users', { username, name: 'Quentin Blake', password: 'QuentinWritesLongPasswords', email: `${username}@example.test` });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.code, 'password.policy');
      assert.deepEqual(
        refused.body.details.violations.map((v: { rule: string }) => v.rule),
        ['require_digit', 'require_symbol', 'context_word'],
      );
      const invalid = await admin.request('PUT', '/password-policy', { minLength: 0, lockout: { threshold: 'ten' } });
      assert.equal(invalid.status, 400);
      assert.equal(invalid.body.code, 'password_policy.invalid');
      const read = await admin.request('GET', '/password-policy');
      assert.equal(read.body.policy.expiryDays, 90);
    });

    it('imports bcrypt hashes through the seed and upgrades them to argon2id at the next sign-in', async () => {
      const username = uniqueName('legacy');
      const report = await applySeed(gh.context, { users: [{ username, passwordHash: bcrypt.hashSync('legacy-system-password', 4) }], passwordPolicy: { historyCount: 2, ipThrottle: { maxFailures: 100_000, windowSeconds: 900 } } }, SYSTEM_ACTOR);
      assert.equal(report.passwordPolicy, 'updated');
      assert.equal((await applySeed(gh.context, { passwordPolicy: { historyCount: 2, ipThrottle: { maxFailures: 100_000, windowSeconds: 900 } } }, SYSTEM_ACTOR)).passwordPolicy, 'unchanged', 'idempotent');
      assert.equal((await gh.context.passwordPolicies.get(tenant())).historyCount, 2);
      const done = await gh.context.signIn.password(tenant(), { uid: randomUUID(), login: username, password: 'legacy-system-password', ...request });
      assert.equal(done.kind, 'done');
      const row: { password_hash: string } = await gh.context.knex('users').where({ username }).first('password_hash');
      assert.match(row.password_hash, /^\$argon2id\$/);
      assert.equal(await argon2.verify(row.password_hash, 'legacy-system-password'), true);
      await assert.rejects(applySeed(gh.context, { users: [{ username: uniqueName('bad'), passwordHash: 'md5:0123456789abcdef0123' }] }, SYSTEM_ACTOR), /passwordHash must be/);
    });
  });

  describe('forgotten password', () => {
    async function askForLink(login: string) {
      const browser = new HttpClient(gh.url);
      const form = formWith(await browser.get('/account/password/forgot'), 'login');
      const answer = await browser.postForm(form.action, { login });
      await gh.context.passwordReset.idle();
      return { browser, answer };
    }
    const linkIn = (text: string) => new URL(/(http:\/\/\S+\/account\/password\/reset\?token=[A-Za-z0-9_-]+)/.exec(text)![1]!);

    it('a reset token works once, and the answer never says whether the account exists', async () => {
      const user = await newUser();
      const known = await askForLink(user.email);
      const unknown = await askForLink(`${uniqueName('nobody')}@example.test`);
      assert.equal(known.answer.status, unknown.answer.status);
      assert.equal(normalized(known.answer, user.email), normalized(unknown.answer, '\u0000'));
      assert.match(textOfId(known.answer.body, 'reset-sent') ?? '', /If an account/);
      const [mail] = await smtp.waitFor(user.email);
      const link = linkIn(mail!.text);
      const stored: { token_hash: string }[] = await gh.context.knex('password_reset_tokens').where({ user_id: user.id });
      assert.ok(stored.length === 1 && !stored[0]!.token_hash.includes(link.searchParams.get('token')!), 'only a hash of the token is stored');

      const browser = new HttpClient(gh.url);
      const form = formWith(await browser.get(link), 'new_password');
      const short = await browser.postForm(form.action, { ...form.fields, new_password: 'short', confirm_password: 'short' });
      assert.equal(short.status, 400);
      assert.match(short.body, /data-rule="min_length"/);
      const chosen = `after-reset-${randomUUID()}`;
      const done = await browser.postForm(form.action, { ...form.fields, new_password: chosen, confirm_password: chosen });
      assert.equal(done.status, 200, done.body.slice(0, 500));
      assert.match(done.body, /Your password was changed/);
      const again = await browser.postForm(form.action, { ...form.fields, new_password: `${chosen}-2`, confirm_password: `${chosen}-2` });
      assert.equal(again.status, 400);
      assert.match(again.body, /expired or was already used/);
      assert.equal((await gh.context.signIn.password(tenant(), { uid: randomUUID(), login: user.username, password: chosen, ...request })).kind, 'done');
    });

    it('counts wrong codes on the reset form towards the lockout, before checking them, and a locked account waits for the lock to end', async () => {
      const N = 4;
      await setPolicy({ lockout: { threshold: N, cooldownSeconds: 300, maxCooldownSeconds: 3600 }, ipThrottle: { maxFailures: 100_000, windowSeconds: 900 } });
      const user = await newUser();
      const enrollment = await gh.context.mfa.startEnrollment(tenant(), user);
      await gh.context.mfa.confirmEnrollment(tenant(), user.id, await generate({ secret: enrollment.secret }), SYSTEM_ACTOR);
      const token = await gh.context.passwordReset.issueToken(tenant(), user.id, 600);
      const chosen = `reset-${randomUUID()}`;
      const actor = { actorType: 'anonymous' as const, ip: '192.0.2.150', userAgent: null };
      const attempt = (code: string) =>
        gh.context.passwordReset.complete(tenant(), { token, password: chosen, code }, actor).then(
          () => 'reset',
          (error: { code?: string }) => error.code ?? String(error),
        );
      const answers = await Promise.all(Array.from({ length: 150 }, (_, i) => attempt(String(100000 + i))));
      assert.equal(answers.filter((a) => a === 'password_reset.second_factor').length, N - 1, 'N-1 wrong codes told so');
      assert.equal(answers.filter((a) => a === 'password_reset.locked').length, 150 - (N - 1), 'the rest met the lock');
      assert.equal((await gh.context.users.findById(user.id))?.status, 'locked');
      // A right code does not reset the password of a locked account...
      const code = await generate({ secret: enrollment.secret, epoch: Math.floor(Date.now() / 1000) + 30 });
      assert.equal(await attempt(code), 'password_reset.locked');
      const page = await new HttpClient(gh.url).get(`/account/password/reset?token=${token}`);
      const refused = await new HttpClient(gh.url).postForm(formWith(page, 'new_password').action, { ...formWith(page, 'new_password').fields, new_password: chosen, confirm_password: chosen, code });
      assert.equal(refused.status, 423);
      assert.match(refused.body, /locked/);
      // ...until the lock has ended (its end moved into the past rather than waited for).
      await gh.context
        .knex('users')
        .where({ id: user.id })
        .update({ locked_until: new Date(Date.now() - 1000) });
      // The next step's code: never claimed (the one above was refused before it was checked).
      assert.equal(await attempt(await generate({ secret: enrollment.secret, epoch: Math.floor(Date.now() / 1000) + 30 })), 'reset');
    });

    it("counts wrong codes on the reset form towards the address's throttle", async () => {
      await setPolicy({ ipThrottle: { maxFailures: 3, windowSeconds: 600 } });
      const user = await newUser();
      const enrollment = await gh.context.mfa.startEnrollment(tenant(), user);
      await gh.context.mfa.confirmEnrollment(tenant(), user.id, await generate({ secret: enrollment.secret }), SYSTEM_ACTOR);
      const token = await gh.context.passwordReset.issueToken(tenant(), user.id, 600);
      const actor = { actorType: 'anonymous' as const, ip: '192.0.2.151', userAgent: null };
      const chosen = `reset-${randomUUID()}`;
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          gh.context.passwordReset.complete(tenant(), { token, password: chosen, code: String(200000 + i) }, actor).then(
            () => 'reset',
            (error: { code?: string }) => error.code,
          ),
        ),
      );
      assert.equal(answers.filter((a) => a === 'password_reset.second_factor').length, 3);
      assert.equal(answers.filter((a) => a === 'password_reset.throttled').length, 17);
      const right = await generate({ secret: enrollment.secret, epoch: Math.floor(Date.now() / 1000) + 30 });
      await assert.rejects(gh.context.passwordReset.complete(tenant(), { token, password: chosen, code: right }, actor), appError('password_reset.throttled', 429));
    });

    it('never bypasses MFA: a user with an authenticator app must give a code too', async () => {
      const user = await newUser();
      const enrollment = await gh.context.mfa.startEnrollment(tenant(), user);
      await gh.context.mfa.confirmEnrollment(tenant(), user.id, await generate({ secret: enrollment.secret }), SYSTEM_ACTOR);
      await askForLink(user.username);
      const mail = (await smtp.waitFor(user.email)).find((m) => /Reset your password/.test(m.subject))!;
      const browser = new HttpClient(gh.url);
      const form = formWith(await browser.get(linkIn(mail.text)), 'new_password');
      assert.ok(form.controls.includes('code'), 'the form asks for a code');
      const chosen = `mfa-reset-${randomUUID()}`;
      const refused = await browser.postForm(form.action, { ...form.fields, new_password: chosen, confirm_password: chosen });
      assert.equal(refused.status, 400);
      assert.match(refused.body, /authenticator app/);
      const accepted = await browser.postForm(form.action, { ...form.fields, new_password: chosen, confirm_password: chosen, code: await generate({ secret: enrollment.secret, epoch: Math.floor(Date.now() / 1000) + 30 }) });
      assert.equal(accepted.status, 200);
      const next = await gh.context.signIn.password(tenant(), { uid: randomUUID(), login: user.username, password: chosen, ...request });
      assert.deepEqual([next.kind, next.kind === 'step' && next.step], ['step', 'totp'], 'signing in still asks for the second factor');
    });
  });
});
