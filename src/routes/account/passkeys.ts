// Account page for passkeys: list, rename, add and remove. Adding and removing need the password
// again (re-authentication, OWASP ASVS 5 V6.2.3 / V7.5.1); renaming changes no credential.
// Thin handlers: the rules live in services/passkeys.ts.
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { readForm } from '../../middleware/form-body.ts';
import { allowScriptNonce } from '../../middleware/security-headers.ts';
import type { Actor } from '../../services/actor.ts';
import type { CredentialService } from '../../services/credentials.ts';
import { AppError } from '../../services/errors.ts';
import { parsePasskeyResponse, PASSKEY_NAME_MAX, type PasskeyService } from '../../services/passkeys.ts';
import { ASSET_PATHS } from '../assets.ts';
import type { AccountVisitor } from './auth.ts';
import { getAccountPage, renderAccountPage, type AccountPageDeps } from './index.ts';

export interface AccountPasskeyDeps extends AccountPageDeps {
  tenantId: string;
  credentials: CredentialService;
  passkeys: PasskeyService;
}

const actorOf = (ctx: Context, visitor: AccountVisitor): Actor => ({ actorType: 'user', actorId: visitor.user.id, ip: ctx.ip, userAgent: ctx.get('user-agent') || null });
const passkeyId = z.uuid();

export function createAccountPasskeyRouter(deps: AccountPasskeyDeps): Router {
  const { auth, tenantId, passkeys } = deps;
  const router = new Router();

  const listPage = async (ctx: Context, visitor: AccountVisitor, extra: Record<string, unknown> = {}) =>
    renderAccountPage(ctx, deps, visitor, 'account-passkeys', 'Passkeys', {
      passkeys: await passkeys.list(tenantId, visitor.user.id),
      addAction: '/account/passkeys/new',
      nameMax: PASSKEY_NAME_MAX,
      ...extra,
    });

  /** The visitor and form of a POST, CSRF-checked; undefined when the sign-in page answered. */
  async function posted(ctx: Context): Promise<{ visitor: AccountVisitor; form: URLSearchParams } | undefined> {
    const visitor = await auth.require(ctx);
    if (!visitor) return undefined;
    const form = await readForm(ctx);
    auth.verifyCsrf(visitor, form);
    return { visitor, form };
  }

  const idOf = (ctx: Context): string => {
    const parsed = passkeyId.safeParse(ctx.params.id);
    if (!parsed.success) throw new AppError('passkey.not_found', 404, 'There is no such passkey.');
    return parsed.data;
  };

  getAccountPage(router, auth, '/account/passkeys', listPage);

  // Step 1: the password again, and a name; answers the page that asks the authenticator.
  router.post('/account/passkeys/new', async (ctx) => {
    const request = await posted(ctx);
    if (!request) return;
    const { visitor, form } = request;
    if (!(await deps.credentials.confirmPassword(tenantId, visitor.user, form.get('password') ?? '', actorOf(ctx, visitor)))) {
      ctx.status = 400;
      return listPage(ctx, visitor, { error: 'The password is not correct.' });
    }
    const options = await passkeys.registrationOptions(tenantId, visitor.user);
    const nonce = allowScriptNonce(ctx);
    await renderAccountPage(ctx, deps, visitor, 'passkey-register', 'Add a passkey', {
      nonce,
      action: '/account/passkeys',
      options: JSON.stringify(options),
      name: (form.get('name') ?? '').slice(0, PASSKEY_NAME_MAX),
      scripts: [ASSET_PATHS.webauthn, ASSET_PATHS.passkeys],
    });
  });

  // Step 2: the authenticator's answer to the challenge made in step 1.
  router.post('/account/passkeys', async (ctx) => {
    const request = await posted(ctx);
    if (!request) return;
    const { visitor, form } = request;
    const response = parsePasskeyResponse(form.get('response') ?? '');
    try {
      await passkeys.register(tenantId, visitor.user.id, { response, name: form.get('name') ?? '' }, actorOf(ctx, visitor));
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500) throw error;
      ctx.status = error.status;
      return listPage(ctx, visitor, { error: error.message });
    }
    await listPage(ctx, visitor, { notice: 'The passkey was added.' });
  });

  router.post('/account/passkeys/:id/name', async (ctx) => {
    const request = await posted(ctx);
    if (!request) return;
    await passkeys.rename(tenantId, request.visitor.user.id, idOf(ctx), request.form.get('name') ?? '', actorOf(ctx, request.visitor));
    await listPage(ctx, request.visitor, { notice: 'The passkey was renamed.' });
  });

  router.post('/account/passkeys/:id/remove', async (ctx) => {
    const request = await posted(ctx);
    if (!request) return;
    const { visitor, form } = request;
    const id = idOf(ctx);
    if (!(await deps.credentials.confirmPassword(tenantId, visitor.user, form.get('password') ?? '', actorOf(ctx, visitor)))) {
      ctx.status = 400;
      return listPage(ctx, visitor, { error: 'The password is not correct.' });
    }
    await passkeys.remove(tenantId, visitor.user.id, id, actorOf(ctx, visitor));
    await listPage(ctx, visitor, { notice: 'The passkey was removed.' });
  });

  return router;
}
