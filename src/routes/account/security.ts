// Account pages for account security: change password (the current one required),
// two-step verification (set up TOTP with a QR code, new recovery codes, remove it after
// re-entering the password), and the forgotten-password pages, which work without a session.
// Thin handlers: the rules live in services/credentials.ts, mfa.ts and password-reset.ts.
import Router from '@koa/router';
import type { Context } from 'koa';
import { readForm } from '../../middleware/form-body.ts';
import type { Actor } from '../../services/actor.ts';
import type { CredentialService } from '../../services/credentials.ts';
import { AppError } from '../../services/errors.ts';
import type { MfaService } from '../../services/mfa.ts';
import type { PasswordResetService } from '../../services/password-reset.ts';
import type { Violation } from '../../services/password-policy.ts';
import type { AccountVisitor } from './auth.ts';
import { getAccountPage, renderAccountPage, type AccountPageDeps } from './index.ts';
import { localeOf } from '../../views/i18n.ts';

export interface AccountSecurityDeps extends AccountPageDeps {
  issuer: string;
  tenantId: string;
  credentials: CredentialService;
  mfa: MfaService;
  passwordReset: PasswordResetService;
}

const nonceOf = (ctx: Context) => String((ctx.state as { nonce?: string }).nonce ?? '');
const actorOf = (ctx: Context, visitor?: AccountVisitor): Actor => ({ actorType: visitor ? 'user' : 'anonymous', actorId: visitor?.user.id ?? null, ip: ctx.ip, userAgent: ctx.get('user-agent') || null });
const violationsOf = (error: unknown): Violation[] | undefined => (error instanceof AppError && error.code === 'password.policy' ? (error.details?.violations as Violation[]) : undefined);

export function createAccountSecurityRouter(deps: AccountSecurityDeps): Router {
  const { auth, tenantId, mfa } = deps;
  const router = new Router();

  // --- Change password -------------------------------------------------------------------

  const passwordPage = (ctx: Context, visitor: AccountVisitor, extra: Record<string, unknown> = {}) =>
    renderAccountPage(ctx, deps, visitor, 'password-change', 'Change password', { heading: 'Change password', action: '/account/password', askCurrent: true, username: visitor.user.username, ...extra });

  getAccountPage(router, auth, '/account/password', passwordPage);

  router.post('/account/password', async (ctx) => {
    const visitor = await auth.require(ctx);
    if (!visitor) return;
    const form = await readForm(ctx);
    auth.verifyCsrf(visitor, form);
    const next = form.get('new_password') ?? '';
    if (next !== (form.get('confirm_password') ?? '')) {
      ctx.status = 400;
      return passwordPage(ctx, visitor, { error: 'The two new passwords do not match.' });
    }
    if (!(await deps.credentials.confirmPassword(tenantId, visitor.user, form.get('current_password') ?? '', actorOf(ctx, visitor)))) {
      ctx.status = 400;
      return passwordPage(ctx, visitor, { error: 'The current password is not correct.' });
    }
    try {
      await deps.credentials.setPassword(tenantId, visitor.user, next, { actor: actorOf(ctx, visitor), reason: 'self', sessionUid: visitor.sessionUid, refuseCurrent: true });
    } catch (error) {
      const violations = violationsOf(error);
      if (!violations) throw error;
      ctx.status = 400;
      return passwordPage(ctx, visitor, { error: 'Choose another password:', violations });
    }
    await passwordPage(ctx, visitor, { notice: 'Your password was changed.' });
  });

  // --- Two-step verification ------------------------------------------------------------

  const mfaPage = async (ctx: Context, visitor: AccountVisitor, extra: Record<string, unknown> = {}) =>
    renderAccountPage(ctx, deps, visitor, 'account-mfa', 'Two-step verification', {
      status: await mfa.status(tenantId, visitor.user.id),
      startAction: '/account/mfa/totp',
      regenerateAction: '/account/mfa/recovery-codes',
      removeAction: '/account/mfa/remove',
      ...extra,
    });

  getAccountPage(router, auth, '/account/mfa', mfaPage);

  router.post('/account/mfa/totp', async (ctx) => {
    const visitor = await auth.require(ctx);
    if (!visitor) return;
    auth.verifyCsrf(visitor, await readForm(ctx));
    const enrollment = await mfa.startEnrollment(tenantId, visitor.user);
    await renderAccountPage(ctx, deps, visitor, 'mfa-enroll', 'Set up your authenticator app', { action: '/account/mfa/totp/confirm', qrDataUrl: enrollment.qrDataUrl, secret: enrollment.secret });
  });

  router.post('/account/mfa/totp/confirm', async (ctx) => {
    const visitor = await auth.require(ctx);
    if (!visitor) return;
    const form = await readForm(ctx);
    auth.verifyCsrf(visitor, form);
    const codes = await mfa.confirmEnrollment(tenantId, visitor.user.id, (form.get('code') ?? '').slice(0, 20), actorOf(ctx, visitor));
    if (!codes) {
      const enrollment = await mfa.pendingEnrollment(tenantId, visitor.user);
      if (!enrollment) return ctx.redirect('/account/mfa');
      ctx.status = 400;
      return renderAccountPage(ctx, deps, visitor, 'mfa-enroll', 'Set up your authenticator app', {
        action: '/account/mfa/totp/confirm',
        qrDataUrl: enrollment.qrDataUrl,
        secret: enrollment.secret,
        error: 'That code is not valid. Enter the current code from your authenticator app.',
      });
    }
    await renderAccountPage(ctx, deps, visitor, 'recovery-codes', 'Save your recovery codes', { codes, continueUrl: '/account/mfa' });
  });

  /** The visitor of a form that must re-enter the password, or undefined when it answered already. */
  async function visitorWithPassword(ctx: Context): Promise<AccountVisitor | undefined> {
    const visitor = await auth.require(ctx);
    if (!visitor) return undefined;
    const form = await readForm(ctx);
    auth.verifyCsrf(visitor, form);
    if (await deps.credentials.confirmPassword(tenantId, visitor.user, form.get('password') ?? '', actorOf(ctx, visitor))) return visitor;
    ctx.status = 400;
    await mfaPage(ctx, visitor, { error: 'The password is not correct.' });
    return undefined;
  }

  router.post('/account/mfa/recovery-codes', async (ctx) => {
    const visitor = await visitorWithPassword(ctx);
    if (!visitor) return;
    const codes = await mfa.regenerateRecoveryCodes(tenantId, visitor.user.id, actorOf(ctx, visitor));
    await renderAccountPage(ctx, deps, visitor, 'recovery-codes', 'Save your recovery codes', { codes, continueUrl: '/account/mfa' });
  });

  router.post('/account/mfa/remove', async (ctx) => {
    const visitor = await visitorWithPassword(ctx);
    if (!visitor) return;
    await mfa.reset(tenantId, visitor.user.id, actorOf(ctx, visitor));
    await mfaPage(ctx, visitor, { notice: 'The authenticator app was removed.' });
  });

  // --- Forgotten password (no session) -------------------------------------------------------

  const page = async (ctx: Context, view: string, title: string, data: Record<string, unknown>) => {
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = await deps.renderer.render(view, { nonce: nonceOf(ctx), locale: localeOf(ctx), title, ...data });
  };

  router.get('/account/password/forgot', async (ctx) => page(ctx, 'forgot-password', 'Forgotten password', { action: '/account/password/forgot' }));

  router.post('/account/password/forgot', async (ctx) => {
    const login = ((await readForm(ctx)).get('login') ?? '').trim();
    if (!login) {
      ctx.status = 400;
      return page(ctx, 'forgot-password', 'Forgotten password', { action: '/account/password/forgot', error: 'Enter your username or email address.' });
    }
    await deps.passwordReset.request(tenantId, login, `${deps.issuer}/account/password/reset`, ctx.ip);
    await page(ctx, 'forgot-password', 'Forgotten password', { sent: true });
  });

  const resetPage = (ctx: Context, token: string, needsSecondFactor: boolean, extra: Record<string, unknown> = {}) =>
    page(ctx, 'password-change', 'Choose a new password', { heading: 'Choose a new password', action: '/account/password/reset', token, askCode: needsSecondFactor, ...extra });

  router.get('/account/password/reset', async (ctx) => {
    // The token rides in the query of the mail's link; this page keeps it out of the Referer.
    ctx.set('referrer-policy', 'no-referrer');
    const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
    const found = await deps.passwordReset.inspect(tenantId, token);
    if (!found) throw new AppError('password_reset.invalid', 400, 'This link has expired or was already used. Ask for a new one.');
    await resetPage(ctx, token, found.needsSecondFactor);
  });

  router.post('/account/password/reset', async (ctx) => {
    const form = await readForm(ctx);
    const token = form.get('token') ?? '';
    const found = await deps.passwordReset.inspect(tenantId, token);
    if (!found) throw new AppError('password_reset.invalid', 400, 'This link has expired or was already used. Ask for a new one.');
    const password = form.get('new_password') ?? '';
    if (password !== (form.get('confirm_password') ?? '')) {
      ctx.status = 400;
      return resetPage(ctx, token, found.needsSecondFactor, { error: 'The two passwords do not match.' });
    }
    try {
      await deps.passwordReset.complete(tenantId, { token, password, code: form.get('code') || undefined, recoveryCode: form.get('recovery_code') || undefined }, actorOf(ctx));
    } catch (error) {
      const violations = violationsOf(error);
      if (error instanceof AppError && (violations || error.code === 'password_reset.second_factor')) {
        ctx.status = 400;
        return resetPage(ctx, token, found.needsSecondFactor, violations ? { error: 'Choose another password:', violations } : { error: error.message });
      }
      throw error;
    }
    // No session is created: signing in (with the second factor, if any) comes next.
    await page(ctx, 'password-reset-done', 'Password changed', {});
  });

  return router;
}
