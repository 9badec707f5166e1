// /account/sessions: the signed-in user's own sessions with their device, browser and OS, this one
// marked, each with a form to end it; and one to end every other session. Forms carry the session's
// CSRF token. Ending this session signs this browser out.
import Router from '@koa/router';
import { readForm } from '../../middleware/form-body.ts';
import type { Renderer } from '../../views/render.ts';
import type { SessionService, SessionView } from '../../services/sessions.ts';
import type { AccountAuth } from './auth.ts';
import { renderAccountPage } from './index.ts';

const DEVICE_LABELS: Record<string, string> = { desktop: 'Computer', mobile: 'Phone', tablet: 'Tablet', smarttv: 'TV', wearable: 'Wearable', console: 'Game console', xr: 'Headset', embedded: 'Device', unknown: 'Unknown device' };

const NOTICES: Record<string, string> = {
  ended: 'The session has ended. Its applications will ask for a password again.',
  'ended-others': 'Every other session has ended.',
  gone: 'That session had already ended.',
};

function describe(session: SessionView, currentUid: string) {
  return {
    id: session.id,
    current: session.id === currentUid,
    device: DEVICE_LABELS[session.deviceType] ?? session.deviceType,
    browser: session.browser ?? 'Unknown browser',
    os: session.os ?? 'unknown system',
    ip: session.ip ?? 'unknown',
    identity: session.identity ? session.identity.alias : null,
    applications: session.applications.map((a) => a.name),
    createdAt: session.createdAt.toISOString(),
    lastActiveAt: session.lastActiveAt.toISOString(),
  };
}

export function createAccountSessionsRouter(deps: { auth: AccountAuth; renderer: Renderer; sessions: SessionService; tenantId: string }): Router {
  const { auth, sessions, tenantId } = deps;
  const router = new Router();

  router.get('/account/sessions', async (ctx) => {
    const visitor = await auth.require(ctx);
    if (!visitor) return;
    const list = await sessions.listForUser(tenantId, visitor.user.id);
    const notice = typeof ctx.query.notice === 'string' ? NOTICES[ctx.query.notice] : undefined;
    await renderAccountPage(ctx, deps, visitor, 'account-sessions', 'Your sessions', { sessions: list.map((s) => describe(s, visitor.sessionUid)), notice });
  });

  router.post('/account/sessions/others/end', async (ctx) => {
    const visitor = await auth.require(ctx);
    if (!visitor) return;
    auth.verifyCsrf(visitor, await readForm(ctx));
    await sessions.endAllOfUser(tenantId, visitor.user.id, { actorType: 'user', actorId: visitor.user.id, ip: ctx.ip, userAgent: ctx.get('user-agent') || null }, 'ended_by_user', visitor.sessionUid);
    ctx.redirect('/account/sessions?notice=ended-others');
  });

  router.post('/account/sessions/:id/end', async (ctx) => {
    const visitor = await auth.require(ctx);
    if (!visitor) return;
    auth.verifyCsrf(visitor, await readForm(ctx));
    const id = ctx.params.id ?? '';
    const mine = (await sessions.listForUser(tenantId, visitor.user.id)).some((s) => s.id === id);
    if (!mine) return ctx.redirect('/account/sessions?notice=gone');
    await sessions.endOwn(tenantId, visitor.user.id, id, { actorType: 'user', actorId: visitor.user.id, ip: ctx.ip, userAgent: ctx.get('user-agent') || null });
    // Ending this browser's own session signs it out.
    ctx.redirect(id === visitor.sessionUid ? '/account/signed-out' : '/account/sessions?notice=ended');
  });

  return router;
}
