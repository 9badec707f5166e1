// The interaction UI: login and consent pages that oidc-provider sends the browser to.
// Thin handlers: authentication and audit live in services.
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Provider } from '../oidc/provider.ts';
import type { AuditService } from '../services/audit.ts';
import { AppError } from '../services/errors.ts';
import type { UserService } from '../services/users.ts';
import type { Renderer } from '../views/render.ts';
import { readForm } from '../middleware/form-body.ts';
import type { EligibleIdentity } from '../oidc/identity.ts';
import type { IdentitySelectionService } from '../services/identity-selection.ts';
import type { SignInOutcome, SignInService, SignInStep } from '../services/sign-in.ts';
import type { Violation } from '../services/password-policy.ts';
import { localeOf } from '../views/i18n.ts';
import { allowScriptNonce } from '../middleware/security-headers.ts';
import { ASSET_PATHS } from './assets.ts';
import { parsePasskeyResponse } from '../services/passkeys.ts';

/** Shown when a passkey assertion is refused, whatever the reason (unknown, wrong, cloned). */
export const PASSKEY_FAILED = 'The passkey could not be verified. Try again.';
import type { IdentityProviderService } from '../services/identity-providers.ts';
import { FEDERATION_MESSAGES, type FederationService } from '../services/federation.ts';

// One message for an unknown user, a wrong password and an inactive account, so the page never
// tells whether an account exists (OWASP ASVS 5 V6.3.8 / NIST 800-63B rev 4 §3.2.2).
export const SIGN_IN_FAILED = 'Invalid username or password.';

interface InteractionDeps {
  provider: Provider;
  users: UserService;
  audit: AuditService;
  renderer: Renderer;
  tenantId: string;
  eligibleIdentities(userId: string, clientId: string): Promise<EligibleIdentity[]>;
  identitySelection: IdentitySelectionService;
  /** Account security: the password, second-factor and password-change steps. */
  signIn: SignInService;
  identityProviders: IdentityProviderService;
  federation: FederationService;
  /** Gatehouse's issuer: the upstream providers' redirect URI is `{issuer}/federation/callback`. */
  issuer: string;
}

const KIND_LABELS: Record<string, string> = { internal: 'Internal user', client: 'Client', supplier: 'Supplier' };

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;
/** What every step after the password hands the sign-in service. */
type StepRequest = { uid: string; ip: string; userAgent: string | null };

export function createInteractionRouter(deps: InteractionDeps): Router {
  const { provider, users, audit, renderer, tenantId } = deps;
  const router = new Router();
  const nonce = (ctx: Context) => String((ctx.state as { nonce?: string }).nonce ?? '');

  async function details(ctx: Context): Promise<Details> {
    try {
      const found = await provider.interactionDetails(ctx.req, ctx.res);
      if (found.uid !== ctx.params.uid) throw new Error('uid mismatch');
      // The application's ui_locales come first when choosing the page language (localeOf).
      (ctx.state as { uiLocales?: unknown }).uiLocales = found.params.ui_locales;
      return found;
    } catch {
      throw new AppError('interaction.expired', 400, 'This sign-in request has expired or was already used. Go back to the application and start again.');
    }
  }

  /** The interaction, which must still be at its sign-in step. */
  async function loginDetails(ctx: Context): Promise<Details> {
    const interaction = await details(ctx);
    if (interaction.prompt.name !== 'login') throw new AppError('interaction.wrong_step', 400, 'This sign-in step is already complete.');
    return interaction;
  }

  /** Audits a refused sign-in attempt. */
  async function recordSignInFailure(ctx: Context, targetId: string | null, reason: Record<string, unknown>) {
    await audit.record({ tenantId, action: 'user.sign_in', result: 'failure', actorType: 'anonymous', targetType: 'user', targetId, ip: ctx.ip, userAgent: ctx.get('user-agent') || null, details: reason });
  }

  /** An HTML page whose only script is the page's own nonce. */
  async function renderPage(ctx: Context, view: string, title: string, fields: Record<string, unknown>) {
    ctx.type = 'html';
    ctx.body = await renderer.render(view, { nonce: nonce(ctx), locale: localeOf(ctx), title, ...fields });
  }

  async function clientName(clientId: unknown): Promise<string> {
    const client = typeof clientId === 'string' ? await provider.Client.find(clientId) : undefined;
    return client?.clientName ?? 'the application';
  }

  async function renderLogin(ctx: Context, interaction: Details, extra: { username?: string; error?: string } = {}) {
    // The passkey button and the username field's autofill share one challenge for this interaction.
    ctx.type = 'html';
    const passkeyOptions = await deps.signIn.firstFactorPasskeyOptions(tenantId, interaction.uid);
    ctx.body = await renderer.render('login', {
      nonce: allowScriptNonce(ctx),
      locale: localeOf(ctx),
      passkeyOptions: JSON.stringify(passkeyOptions),
      passkeyAction: `/interaction/${interaction.uid}/passkey`,
      // After a refused passkey the autofill request is not started again by itself.
      conditional: extra.error !== PASSKEY_FAILED,
      scripts: [ASSET_PATHS.webauthn, ASSET_PATHS.passkeys],
      title: 'Sign in',
      uid: interaction.uid,
      action: `/interaction/${interaction.uid}/login`,
      abortAction: `/interaction/${interaction.uid}/abort`,
      clientName: await clientName(interaction.params.client_id),
      username: extra.username ?? (typeof interaction.params.login_hint === 'string' ? interaction.params.login_hint : undefined),
      error: extra.error,
      forgotUrl: '/account/password/forgot',
      providers: (await deps.identityProviders.forApplication(tenantId, String(interaction.params.client_id))).map((p) => ({ slug: p.slug, name: p.name, action: `/interaction/${interaction.uid}/federation/${p.slug}` })),
    });
  }

  // --- Account security steps: second factor, its enrollment, a new password. ---

  async function renderStep(ctx: Context, interaction: Details, step: SignInStep | 'done', extra: { error?: string; violations?: Violation[]; expired?: boolean } = {}) {
    ctx.type = 'html';
    const base = `/interaction/${interaction.uid}`;
    if (step === 'done') {
      // The recovery codes page was left before "continue": carry on from where it stopped.
      return finish(ctx, interaction);
    }
    if (step === 'totp') {
      const progress = await deps.signIn.progress(tenantId, interaction.uid);
      const hasTotp = progress ? await deps.signIn.totpEnabled(tenantId, progress.userId) : false;
      const passkeyOptions = await deps.signIn.secondFactorPasskeyOptions(tenantId, interaction.uid);
      ctx.body = await renderer.render('mfa', {
        nonce: passkeyOptions ? allowScriptNonce(ctx) : nonce(ctx),
        locale: localeOf(ctx),
        title: hasTotp ? 'Enter your code' : 'Use your passkey',
        action: `${base}/totp`,
        recoveryAction: `${base}/recovery-code`,
        abortAction: `${base}/abort`,
        clientName: await clientName(interaction.params.client_id),
        error: extra.error,
        hasTotp,
        ...(passkeyOptions ? { passkeyOptions: JSON.stringify(passkeyOptions), passkeyAction: `${base}/passkey-factor`, scripts: [ASSET_PATHS.webauthn, ASSET_PATHS.passkeys] } : {}),
      });
      return;
    }
    if (step === 'enroll_totp') {
      const enrollment = await deps.signIn.enrollment(tenantId, interaction.uid);
      if (!enrollment) return renderLogin(ctx, interaction);
      ctx.body = await renderer.render('mfa-enroll', {
        nonce: nonce(ctx),
        locale: localeOf(ctx),
        title: 'Set up your authenticator app',
        action: `${base}/enroll`,
        qrDataUrl: enrollment.qrDataUrl,
        secret: enrollment.secret,
        required: true,
        error: extra.error,
      });
      return;
    }
    ctx.body = await renderer.render('password-change', {
      nonce: nonce(ctx),
      locale: localeOf(ctx),
      title: 'Choose a new password',
      heading: 'Choose a new password',
      lead: extra.expired === false ? 'Your administrator asks you to choose a new password before you continue.' : 'Your password has expired. Choose a new one to continue.',
      action: `${base}/password`,
      error: extra.error,
      violations: extra.violations,
    });
  }

  async function finish(ctx: Context, interaction: Details) {
    const done = await deps.signIn.finish(tenantId, interaction.uid);
    if (!done) return renderLogin(ctx, interaction);
    await audit.record({
      tenantId,
      action: 'user.sign_in',
      actorType: 'user',
      actorId: done.userId,
      targetType: 'user',
      targetId: done.userId,
      ip: ctx.ip,
      userAgent: ctx.get('user-agent') || null,
      details: { clientId: interaction.params.client_id, amr: done.amr },
    });
    await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: done.userId, amr: done.amr, acr: done.acr, remember: true } }, { mergeWithLastSubmission: false });
    ctx.respond = false;
  }

  /** Answers a step's outcome: the next page, the same page with what was wrong, or the end. */
  async function respond(ctx: Context, interaction: Details, outcome: SignInOutcome, username?: string) {
    if (outcome.kind === 'done') return finish(ctx, interaction);
    if (outcome.kind === 'step') return renderStep(ctx, interaction, outcome.step, { expired: outcome.expired });
    if (outcome.kind === 'retry') {
      ctx.status = 400;
      return renderStep(ctx, interaction, outcome.step, { error: outcome.message, violations: outcome.violations });
    }
    if (outcome.kind === 'throttled') {
      await recordSignInFailure(ctx, null, { reason: 'ip_throttled', clientId: interaction.params.client_id });
      ctx.status = 429;
      ctx.set('retry-after', String(outcome.retryAfterSeconds));
      return renderLogin(ctx, interaction, { username, error: `Too many failed sign-in attempts from your network. Try again in ${Math.ceil(outcome.retryAfterSeconds / 60)} minute(s).` });
    }
    await recordSignInFailure(ctx, outcome.userId ?? null, { username: username?.slice(0, 100), reason: outcome.reason, clientId: interaction.params.client_id });
    ctx.status = 401;
    return renderLogin(ctx, interaction, { username, error: outcome.reason === 'passkey' || outcome.reason === 'passkey_cloned' ? PASSKEY_FAILED : SIGN_IN_FAILED });
  }

  async function stepForm(ctx: Context, step: SignInStep): Promise<{ interaction: Details; form: URLSearchParams; request: StepRequest }> {
    const interaction = await loginDetails(ctx);
    const progress = await deps.signIn.progress(tenantId, interaction.uid);
    if (progress?.step !== step) throw new AppError('interaction.wrong_step', 400, 'This sign-in step is not the current one. Go back to the application and start again.');
    return { interaction, form: await readForm(ctx), request: { uid: interaction.uid, ip: ctx.ip, userAgent: ctx.get('user-agent') || null } };
  }

  // The steps after the password: each reads its fields and hands it to the sign-in service.
  const factorSteps: Array<[string, SignInStep, (request: StepRequest, form: URLSearchParams) => Promise<SignInOutcome | undefined>]> = [
    ['totp', 'totp', (request, form) => deps.signIn.totp(tenantId, { ...request, code: (form.get('code') ?? '').slice(0, 20) })],
    ['passkey-factor', 'totp', (request, form) => deps.signIn.passkeySecondFactor(tenantId, { ...request, response: parsePasskeyResponse(form.get('response') ?? '') })],
    ['recovery-code', 'totp', (request, form) => deps.signIn.recoveryCode(tenantId, { ...request, code: (form.get('recovery_code') ?? '').slice(0, 40) })],
    ['password', 'change_password', (request, form) => deps.signIn.changePassword(tenantId, { ...request, password: form.get('new_password') ?? '', confirmation: form.get('confirm_password') ?? '' })],
  ];
  for (const [path, step, run] of factorSteps) {
    router.post(`/interaction/:uid/${path}`, async (ctx) => {
      const { interaction, form, request } = await stepForm(ctx, step);
      return respond(ctx, interaction, (await run(request, form))!);
    });
  }

  // A passkey as the first factor (the button, or the username field's autofill).
  router.post('/interaction/:uid/passkey', async (ctx) => {
    const interaction = await loginDetails(ctx);
    const form = await readForm(ctx);
    const response = parsePasskeyResponse(form.get('response') ?? '');
    const outcome = await deps.signIn.passkey(tenantId, { uid: interaction.uid, response, clientId: typeof interaction.params.client_id === 'string' ? interaction.params.client_id : undefined, ip: ctx.ip, userAgent: ctx.get('user-agent') || null });
    return respond(ctx, interaction, outcome);
  });

  router.post('/interaction/:uid/enroll', async (ctx) => {
    const { interaction, form, request } = await stepForm(ctx, 'enroll_totp');
    const result = (await deps.signIn.confirmEnrollment(tenantId, { ...request, code: (form.get('code') ?? '').slice(0, 20) }))!;
    if (!result.recoveryCodes) return respond(ctx, interaction, result.outcome);
    // Shown once, before the sign-in goes on (to a password change, or back to the application).
    ctx.type = 'html';
    ctx.body = await renderer.render('recovery-codes', { nonce: nonce(ctx), locale: localeOf(ctx), title: 'Save your recovery codes', codes: result.recoveryCodes, action: `/interaction/${interaction.uid}/continue` });
  });

  router.post('/interaction/:uid/continue', async (ctx) => {
    const interaction = await details(ctx);
    await readForm(ctx);
    const progress = await deps.signIn.progress(tenantId, interaction.uid);
    if (!progress) return renderLogin(ctx, interaction);
    return renderStep(ctx, interaction, progress.step, { expired: progress.expired });
  });

  router.get('/interaction/:uid', async (ctx) => {
    const interaction = await details(ctx);
    const { prompt } = interaction;
    if (prompt.name === 'login') {
      // A password already accepted in this interaction: show the step it is at.
      const progress = await deps.signIn.progress(tenantId, interaction.uid);
      return progress ? renderStep(ctx, interaction, progress.step, { expired: progress.expired }) : renderLogin(ctx, interaction);
    }
    if (prompt.name === 'consent') {
      const missing = prompt.details as { missingOIDCScope?: string[]; missingResourceScopes?: Record<string, string[]> };
      await renderPage(ctx, 'consent', 'Allow access', {
        uid: interaction.uid,
        action: `/interaction/${interaction.uid}/confirm`,
        abortAction: `/interaction/${interaction.uid}/abort`,
        clientName: await clientName(interaction.params.client_id),
        scopes: (missing.missingOIDCScope ?? []).filter((s) => s !== 'openid'),
        resources: Object.entries(missing.missingResourceScopes ?? {}).map(([name, scopes]) => ({ name, scopes })),
      });
      return;
    }
    if (prompt.name === 'select_account') return renderSelectIdentity(ctx, interaction);
    throw new AppError('interaction.unsupported', 400, `Unsupported sign-in step "${prompt.name}".`);
  });

  async function renderSelectIdentity(ctx: Context, interaction: Details, error?: string) {
    const userId = interaction.session?.accountId;
    if (!userId) throw new AppError('interaction.wrong_step', 400, 'Sign in first.');
    const clientId = String(interaction.params.client_id);
    const eligible = await deps.eligibleIdentities(userId, clientId);
    if (eligible.length === 0) {
      await audit.record({
        tenantId,
        action: 'application.access_denied',
        result: 'failure',
        actorType: 'user',
        actorId: userId,
        targetType: 'application',
        targetId: clientId,
        ip: ctx.ip,
        userAgent: ctx.get('user-agent') || null,
        details: { reason: 'no eligible identity' },
      });
      ctx.status = 403;
      const user = await users.findForOidc(userId);
      await renderPage(ctx, 'no-access', 'No access', {
        clientName: await clientName(clientId),
        username: user?.username,
        returnAction: `/interaction/${interaction.uid}/no-access`,
        switchAction: `/interaction/${interaction.uid}/switch-account`,
      });
      return;
    }
    const preferred = await deps.identitySelection.defaultIdentityId(userId);
    await renderPage(ctx, 'select-identity', 'Choose an identity', {
      action: `/interaction/${interaction.uid}/select-identity`,
      clientName: await clientName(clientId),
      identities: eligible.map((i) => ({ id: i.id, kind: KIND_LABELS[i.kind] ?? i.kind, label: i.alias })),
      selectedId: eligible.some((i) => i.id === preferred) ? preferred : eligible[0]!.id,
      error,
    });
  }

  router.post('/interaction/:uid/select-identity', async (ctx) => {
    const interaction = await details(ctx);
    const userId = interaction.session?.accountId;
    if (interaction.prompt.name !== 'select_account' || !userId) throw new AppError('interaction.wrong_step', 400, 'There is no identity to choose at this step.');
    const form = await readForm(ctx);
    const identityId = form.get('identity_id') ?? '';
    const eligible = await deps.eligibleIdentities(userId, String(interaction.params.client_id));
    if (!eligible.some((i) => i.id === identityId)) {
      ctx.status = 400;
      return renderSelectIdentity(ctx, interaction, 'Choose one of the identities listed.');
    }
    await deps.identitySelection.setDefault(userId, identityId);
    await audit.record({ tenantId, action: 'identity.selected', actorType: 'user', actorId: userId, targetType: 'identity', targetId: identityId, ip: ctx.ip, details: { clientId: interaction.params.client_id } });
    await provider.interactionFinished(ctx.req, ctx.res, { select_account: { identityId } }, { mergeWithLastSubmission: true });
    ctx.respond = false;
  });

  router.post('/interaction/:uid/login', async (ctx) => {
    const interaction = await loginDetails(ctx);
    const form = await readForm(ctx);
    const username = (form.get('username') ?? '').trim();
    const password = form.get('password') ?? '';
    const requestInfo = { ip: ctx.ip, userAgent: ctx.get('user-agent') || null };
    if (!username || !password) {
      ctx.status = 400;
      return renderLogin(ctx, interaction, { username, error: 'Enter your username and password.' });
    }
    // Lockout, throttling, the second factor and password expiry: services/sign-in.ts.
    const outcome = await deps.signIn.password(tenantId, { uid: interaction.uid, login: username, password, clientId: typeof interaction.params.client_id === 'string' ? interaction.params.client_id : undefined, ...requestInfo, ip: ctx.ip });
    return respond(ctx, interaction, outcome, username);
  });

  router.post('/interaction/:uid/confirm', async (ctx) => {
    const interaction = await details(ctx);
    if (interaction.prompt.name !== 'consent' || !interaction.session?.accountId) throw new AppError('interaction.wrong_step', 400, 'There is nothing to confirm.');
    await readForm(ctx);
    const missing = interaction.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    const grant = interaction.grantId ? await provider.Grant.find(interaction.grantId) : new provider.Grant({ accountId: interaction.session.accountId, clientId: String(interaction.params.client_id) });
    if (!grant) throw new AppError('interaction.expired', 400, 'This sign-in request has expired. Go back to the application and start again.');
    if (missing.missingOIDCScope?.length) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims?.length) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    await audit.record({
      tenantId,
      action: 'consent.granted',
      actorType: 'user',
      actorId: interaction.session.accountId,
      targetType: 'application',
      targetId: String(interaction.params.client_id),
      ip: ctx.ip,
      details: { scopes: missing.missingOIDCScope ?? [], resources: missing.missingResourceScopes ?? {} },
    });
    await provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    ctx.respond = false;
  });

  // "Return to <app>" on the no-access page: the application hears access_denied with its state
  // at its redirect URI (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6) instead of waiting for ever.
  router.post('/interaction/:uid/no-access', async (ctx) => {
    const interaction = await details(ctx);
    await readForm(ctx);
    if (interaction.prompt.name !== 'select_account') throw new AppError('interaction.wrong_step', 400, 'There is nothing to return at this step.');
    await provider.interactionFinished(ctx.req, ctx.res, { error: 'access_denied', error_description: 'No identity of the signed-in user may use this application.' }, { mergeWithLastSubmission: false });
    ctx.respond = false;
  });

  // "Use another account": the same authorization request again, asking for a new sign-in
  // (prompt=login); signing in as someone else replaces the session's user.
  router.post('/interaction/:uid/switch-account', async (ctx) => {
    const interaction = await details(ctx);
    await readForm(ctx);
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(interaction.params)) {
      if (typeof value === 'string' && name !== 'prompt') params.set(name, value);
    }
    params.set('prompt', 'login');
    ctx.status = 303;
    ctx.redirect(`/auth?${params.toString()}`);
  });

  // --- Sign-in through an upstream identity provider (services/federation.ts). ---

  const callbackUri = `${deps.issuer}/federation/callback`;

  async function refusedPage(ctx: Context, message: string, status = 400) {
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = await renderer.render('error', { nonce: nonce(ctx), locale: localeOf(ctx), title: 'Sign-in refused', heading: 'Sign-in refused', message });
  }

  async function renderLink(ctx: Context, interaction: Details, error?: string) {
    const pending = await deps.federation.pendingLink(tenantId, interaction.uid);
    if (!pending) return renderLogin(ctx, interaction);
    await renderPage(ctx, 'federation-link', 'Link your account', {
      providerName: pending.providerName,
      username: pending.username,
      action: `/interaction/${interaction.uid}/federation-link`,
      abortAction: `/interaction/${interaction.uid}/abort`,
      error,
    });
  }

  // The button on the sign-in page: a redirect to the upstream with state, nonce and PKCE.
  router.post('/interaction/:uid/federation/:slug', async (ctx) => {
    const interaction = await details(ctx);
    await readForm(ctx);
    if (interaction.prompt.name !== 'login') throw new AppError('interaction.wrong_step', 400, 'This sign-in step is already complete.');
    const provider = (await deps.identityProviders.forApplication(tenantId, String(interaction.params.client_id))).find((p) => p.slug === ctx.params.slug);
    if (!provider) return refusedPage(ctx, FEDERATION_MESSAGES.unavailable, 404);
    let location: string;
    try {
      location = await deps.federation.start(tenantId, { uid: interaction.uid, provider, redirectUri: callbackUri });
    } catch {
      return refusedPage(ctx, FEDERATION_MESSAGES.failed, 502);
    }
    ctx.status = 303;
    ctx.redirect(location);
  });

  // The upstream's redirect URI, the same for every interaction: the interaction cookie is sent
  // only under /interaction/{uid}, so the answer is passed on there, where it is checked.
  router.get('/federation/callback', async (ctx) => {
    const state = typeof ctx.query.state === 'string' ? ctx.query.state : '';
    const uid = await deps.federation.peekState(tenantId, state);
    if (!uid) return refusedPage(ctx, FEDERATION_MESSAGES.failed);
    ctx.status = 303;
    ctx.redirect(`/interaction/${encodeURIComponent(uid)}/federation-return?${ctx.querystring}`);
  });

  router.get('/interaction/:uid/federation-return', async (ctx) => {
    const interaction = await details(ctx);
    const state = typeof ctx.query.state === 'string' ? ctx.query.state : '';
    // Single use, and bound to this browser's interaction (RFC 6749 §10.12, CSRF).
    const pending = await deps.federation.takeState(tenantId, state);
    if (!pending || pending.uid !== interaction.uid || interaction.prompt.name !== 'login') return refusedPage(ctx, FEDERATION_MESSAGES.failed);
    const request = { ip: ctx.ip, userAgent: ctx.get('user-agent') || null };
    const result = await deps.federation.complete(tenantId, { pending, state, callbackUrl: new URL(`${callbackUri}?${ctx.querystring}`), redirectUri: callbackUri, clientId: String(interaction.params.client_id), ...request });
    if (result.kind === 'refused') {
      await recordSignInFailure(ctx, result.userId ?? null, { reason: result.reason, providerId: pending.providerId, clientId: interaction.params.client_id });
      return refusedPage(ctx, result.message);
    }
    if (result.kind === 'link_required') return renderLink(ctx, interaction);
    return respond(ctx, interaction, result.outcome);
  });

  router.get('/interaction/:uid/federation-link', async (ctx) => renderLink(ctx, await details(ctx)));

  // The existing user's password proves the account before the upstream account is linked.
  router.post('/interaction/:uid/federation-link', async (ctx) => {
    const interaction = await loginDetails(ctx);
    const form = await readForm(ctx);
    const pending = await deps.federation.pendingLink(tenantId, interaction.uid);
    if (!pending) return renderLogin(ctx, interaction);
    const outcome = await deps.federation.confirmLink(tenantId, { uid: interaction.uid, password: form.get('password') ?? '', ip: ctx.ip, userAgent: ctx.get('user-agent') || null });
    if (!outcome) return renderLogin(ctx, interaction);
    if (outcome.kind === 'failed' && outcome.reason === 'password') {
      await recordSignInFailure(ctx, pending.userId, { reason: 'password', linking: pending.providerId, clientId: interaction.params.client_id });
      ctx.status = 401;
      return renderLink(ctx, interaction, 'The password is not correct.');
    }
    return respond(ctx, interaction, outcome, pending.username);
  });

  router.post('/interaction/:uid/abort', async (ctx) => {
    await details(ctx);
    await readForm(ctx);
    await provider.interactionFinished(ctx.req, ctx.res, { error: 'access_denied', error_description: 'The user cancelled the sign-in.' }, { mergeWithLastSubmission: false });
    ctx.respond = false;
  });

  return router;
}
