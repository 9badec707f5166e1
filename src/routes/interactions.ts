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
}

const KIND_LABELS: Record<string, string> = { internal: 'Internal user', client: 'Client', supplier: 'Supplier' };

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

export function createInteractionRouter(deps: InteractionDeps): Router {
  const { provider, users, audit, renderer, tenantId } = deps;
  const router = new Router();
  const nonce = (ctx: Context) => String((ctx.state as { nonce?: string }).nonce ?? '');

  async function details(ctx: Context): Promise<Details> {
    try {
      const found = await provider.interactionDetails(ctx.req, ctx.res);
      if (found.uid !== ctx.params.uid) throw new Error('uid mismatch');
      return found;
    } catch {
      throw new AppError('interaction.expired', 400, 'This sign-in request has expired or was already used. Go back to the application and start again.');
    }
  }

  async function clientName(clientId: unknown): Promise<string> {
    const client = typeof clientId === 'string' ? await provider.Client.find(clientId) : undefined;
    return client?.clientName ?? 'the application';
  }

  async function renderLogin(ctx: Context, interaction: Details, extra: { username?: string; error?: string } = {}) {
    ctx.type = 'html';
    ctx.body = await renderer.render('login', {
      nonce: nonce(ctx),
      title: 'Sign in',
      uid: interaction.uid,
      action: `/interaction/${interaction.uid}/login`,
      abortAction: `/interaction/${interaction.uid}/abort`,
      clientName: await clientName(interaction.params.client_id),
      username: extra.username ?? (typeof interaction.params.login_hint === 'string' ? interaction.params.login_hint : undefined),
      error: extra.error,
    });
  }

  router.get('/interaction/:uid', async (ctx) => {
    const interaction = await details(ctx);
    const { prompt } = interaction;
    if (prompt.name === 'login') return renderLogin(ctx, interaction);
    if (prompt.name === 'consent') {
      const missing = prompt.details as { missingOIDCScope?: string[]; missingResourceScopes?: Record<string, string[]> };
      ctx.type = 'html';
      ctx.body = await renderer.render('consent', {
        nonce: nonce(ctx),
        title: 'Allow access',
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
    ctx.type = 'html';
    if (eligible.length === 0) {
      await audit.record({ tenantId, action: 'application.access_denied', result: 'failure', actorType: 'user', actorId: userId, targetType: 'application', targetId: clientId, ip: ctx.ip, userAgent: ctx.get('user-agent') || null, details: { reason: 'no eligible identity' } });
      ctx.status = 403;
      ctx.body = await renderer.render('no-access', { nonce: nonce(ctx), title: 'No access', clientName: await clientName(clientId) });
      return;
    }
    const preferred = await deps.identitySelection.defaultIdentityId(userId);
    ctx.body = await renderer.render('select-identity', {
      nonce: nonce(ctx),
      title: 'Choose an identity',
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
    const interaction = await details(ctx);
    if (interaction.prompt.name !== 'login') throw new AppError('interaction.wrong_step', 400, 'This sign-in step is already complete.');
    const form = await readForm(ctx);
    const username = (form.get('username') ?? '').trim();
    const password = form.get('password') ?? '';
    const requestInfo = { ip: ctx.ip, userAgent: ctx.get('user-agent') || null };
    if (!username || !password) {
      ctx.status = 400;
      return renderLogin(ctx, interaction, { username, error: 'Enter your username and password.' });
    }
    const result = await users.authenticate(username, password);
    if (!result.user) {
      await audit.record({
        tenantId,
        action: 'user.sign_in',
        result: 'failure',
        actorType: 'anonymous',
        targetType: 'user',
        targetId: null,
        ...requestInfo,
        details: { username: username.slice(0, 100), reason: result.reason, clientId: interaction.params.client_id },
      });
      ctx.status = 401;
      return renderLogin(ctx, interaction, { username, error: SIGN_IN_FAILED });
    }
    await audit.record({
      tenantId,
      action: 'user.sign_in',
      actorType: 'user',
      actorId: result.user.id,
      targetType: 'user',
      targetId: result.user.id,
      ...requestInfo,
      details: { clientId: interaction.params.client_id, amr: ['pwd'] },
    });
    await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: result.user.id, amr: ['pwd'], acr: 'urn:gatehouse:pwd', remember: true } }, { mergeWithLastSubmission: false });
    ctx.respond = false;
  });

  router.post('/interaction/:uid/confirm', async (ctx) => {
    const interaction = await details(ctx);
    if (interaction.prompt.name !== 'consent' || !interaction.session?.accountId) throw new AppError('interaction.wrong_step', 400, 'There is nothing to confirm.');
    await readForm(ctx);
    const missing = interaction.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    const grant = interaction.grantId
      ? await provider.Grant.find(interaction.grantId)
      : new provider.Grant({ accountId: interaction.session.accountId, clientId: String(interaction.params.client_id) });
    if (!grant) throw new AppError('interaction.expired', 400, 'This sign-in request has expired. Go back to the application and start again.');
    if (missing.missingOIDCScope?.length) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims?.length) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    await audit.record({ tenantId, action: 'consent.granted', actorType: 'user', actorId: interaction.session.accountId, targetType: 'application', targetId: String(interaction.params.client_id), ip: ctx.ip, details: { scopes: missing.missingOIDCScope ?? [], resources: missing.missingResourceScopes ?? {} } });
    await provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    ctx.respond = false;
  });

  router.post('/interaction/:uid/abort', async (ctx) => {
    await details(ctx);
    await readForm(ctx);
    await provider.interactionFinished(ctx.req, ctx.res, { error: 'access_denied', error_description: 'The user cancelled the sign-in.' }, { mergeWithLastSubmission: false });
    ctx.respond = false;
  });

  return router;
}
