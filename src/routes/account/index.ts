// The account pages (/account): server-rendered, no JavaScript, each behind the signed-in
// browser session and, for forms, a CSRF token. This router holds sign-in, sign-out and the
// overview; other account features mount their own routers with the same AccountAuth and
// renderAccountPage, and list themselves in sections.ts.
import Router from '@koa/router';
import type { Context } from 'koa';
import { readForm } from '../../middleware/form-body.ts';
import { ACCOUNT_CLIENT_ID } from '../../services/applications.ts';
import type { Renderer } from '../../views/render.ts';
import type { AccountAuth, AccountVisitor } from './auth.ts';
import { safeReturnTo } from './auth.ts';
import { ACCOUNT_SECTIONS } from './sections.ts';
import { localeOf } from '../../views/i18n.ts';
import type { IdentityProviderService } from '../../services/identity-providers.ts';
import type { IdentityService } from '../../services/identities.ts';
import type { UserService } from '../../services/users.ts';
import { AppError } from '../../services/errors.ts';

export interface AccountPageDeps {
  auth: AccountAuth;
  renderer: Renderer;
}

const nonceOf = (ctx: Context) => String((ctx.state as { nonce?: string }).nonce ?? '');

/** Renders an account page (views/<view>.eta) with the account navigation and a CSRF token. */
export async function renderAccountPage(ctx: Context, deps: AccountPageDeps, visitor: AccountVisitor, view: string, title: string, data: Record<string, unknown> = {}): Promise<void> {
  ctx.type = 'html';
  ctx.set('cache-control', 'no-store');
  ctx.body = await deps.renderer.render(view, {
    nonce: nonceOf(ctx),
    locale: localeOf(ctx),
    title,
    wide: true,
    sections: ACCOUNT_SECTIONS,
    currentPath: ctx.path,
    csrfToken: deps.auth.csrfToken(visitor),
    signOutAction: '/account/signout',
    ...data,
  });
}

/** GET `path`: `page` for the signed-in visitor; anyone else is sent to sign in and back. */
export function getAccountPage(router: Router, auth: AccountAuth, path: string, page: (ctx: Context, visitor: AccountVisitor) => Promise<void>): void {
  router.get(path, async (ctx) => {
    const visitor = await auth.require(ctx);
    if (visitor) await page(ctx, visitor);
  });
}

export function createAccountRouter(deps: AccountPageDeps & { issuer: string; tenantId: string; identityProviders: IdentityProviderService; identities: Pick<IdentityService, 'listForUser'>; users: Pick<UserService, 'findById'> }): Router {
  const { auth, renderer } = deps;
  const router = new Router();

  router.get('/account/signin', async (ctx) => {
    const returnTo = safeReturnTo(ctx.query.return_to);
    if (await auth.visitor(ctx)) return ctx.redirect(returnTo);
    auth.startSignIn(ctx, returnTo);
  });

  router.get('/account/callback', async (ctx) => {
    ctx.redirect(await auth.finishSignIn(ctx));
  });

  router.get('/account', async (ctx) => {
    const visitor = await auth.require(ctx);
    if (!visitor) return;
    const identities = (await deps.identities.listForUser(deps.tenantId, visitor.user.id)).map(({ alias, kind }) => ({ alias, kind }));
    const links = (await deps.identityProviders.linksOf(deps.tenantId, visitor.user.id)).map((l) => ({ id: l.id, providerName: l.providerName, email: l.email, removeAction: `/account/links/${l.id}/remove` }));
    await renderAccountPage(ctx, deps, visitor, 'account', 'Your account', { user: visitor.user, identities, links, notice: ctx.query.unlinked === '1' ? 'The link was removed.' : undefined });
  });

  // Removing a link to an upstream account: that upstream account no longer signs in here.
  router.post('/account/links/:id/remove', async (ctx) => {
    const visitor = await auth.require(ctx);
    if (!visitor) return;
    auth.verifyCsrf(visitor, await readForm(ctx));
    const links = await deps.identityProviders.linksOf(deps.tenantId, visitor.user.id);
    if (!links.some((l) => l.id === ctx.params.id)) throw new AppError('account.link_not_found', 404, 'This link does not exist.');
    // The last way in stays: without a password, the last link cannot be removed here.
    const hasPassword = Boolean((await deps.users.findById(visitor.user.id))?.passwordHash);
    if (!hasPassword && links.length === 1) throw new AppError('account.last_link', 409, 'Set a password before you remove the last linked sign-in provider.');
    await deps.identityProviders.unlink(deps.tenantId, visitor.user.id, ctx.params.id!, { actorType: 'user', actorId: visitor.user.id, ip: ctx.ip, userAgent: ctx.get('user-agent') || null });
    ctx.status = 303;
    ctx.redirect('/account?unlinked=1');
  });

  // Sign-out goes through RP-initiated logout, which ends the session (and with it every
  // application's sign-in in this browser) after its own confirmation.
  router.post('/account/signout', async (ctx) => {
    const visitor = await auth.require(ctx);
    if (!visitor) return;
    auth.verifyCsrf(visitor, await readForm(ctx));
    const params = new URLSearchParams({ client_id: ACCOUNT_CLIENT_ID, post_logout_redirect_uri: `${deps.issuer}/account/signed-out` });
    ctx.redirect(`/session/end?${params}`);
  });

  router.get('/account/signed-out', async (ctx) => {
    ctx.type = 'html';
    ctx.body = await renderer.render('account-signed-out', { nonce: nonceOf(ctx), locale: localeOf(ctx), title: 'Signed out' });
  });

  return router;
}
