// Admin API for account security: the tenant's password policy (with the settings that
// depart from NIST SP 800-63B rev 4 named), a user's security state, unlocking a locked user and
// resetting a user's second factor. Thin handlers over services/password-policy.ts, lockout.ts and mfa.ts.
import { z } from 'zod';
import { AppError } from '../../services/errors.ts';
import { departures, passwordExpiresAt } from '../../services/password-policy.ts';
import { actorOf } from './caller.ts';
import { changeRequestOf } from './roles.ts';
import { defineRoute, type ApiRoute } from './framework.ts';
import type { ApiServices } from './index.ts';
import { idParams } from './roles.ts';

const departureView = z.object({ setting: z.string(), reason: z.string() });
const policyResponse = z.object({
  policy: z.record(z.string(), z.unknown()).describe('every setting, with defaults filled in'),
  departuresFromNist: z.array(departureView).describe('settings that depart from NIST SP 800-63B rev 4, each with its reason'),
});

const securityView = z.object({
  status: z.enum(['active', 'inactive', 'locked']),
  lockedUntil: z.string().nullable(),
  consecutiveFailures: z.number(),
  lockoutCount: z.number().describe('locks since the last successful sign-in; each one doubles the next cool-down'),
  passwordChangedAt: z.string().nullable(),
  passwordExpiresAt: z.string().nullable(),
  passwordChangeRequired: z.boolean(),
  totp: z.enum(['none', 'pending', 'enabled']),
  recoveryCodesLeft: z.number(),
});

const passkeyView = z.object({
  id: z.string(),
  name: z.string(),
  transports: z.array(z.string()),
  synced: z.boolean().describe('backed up by its provider (a synced passkey)'),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
});

export function accountSecurityRoutes(services: Pick<ApiServices, 'directoryUsers' | 'issuer' | 'lockout' | 'mfa' | 'passkeys' | 'passwordPolicies' | 'passwordReset'>): ApiRoute[] {
  const { passwordPolicies, lockout, mfa } = services;
  return [
    defineRoute({
      method: 'get',
      path: '/password-policy',
      permission: 'password-policy:read',
      summary: "Read the tenant's password policy (length, character classes, blocklist, context words, history, expiry and reminders, MFA requirement, lockout, IP throttling) and where it departs from NIST SP 800-63B rev 4",
      tag: 'account-security',
      response: policyResponse,
      async handler({ caller }) {
        const policy = await passwordPolicies.get(caller.tenantId);
        return { policy, departuresFromNist: departures(policy) };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/password-policy',
      permission: 'password-policy:replace',
      summary: "Replace the tenant's password policy; omitted settings take their NIST defaults. Departures from NIST SP 800-63B rev 4 are allowed, returned and audited",
      tag: 'account-security',
      // Checked in the service, which names each invalid setting (password_policy.invalid).
      body: z.record(z.string(), z.unknown()),
      response: policyResponse,
      async handler({ body, caller, ctx }) {
        const result = await passwordPolicies.replace(caller.tenantId, body, actorOf(caller, ctx));
        return { policy: result.policy, departuresFromNist: result.departures };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/users/:id/security',
      permission: 'users:read-security',
      summary: "A user's account security: lock and until when, consecutive failures, password age and expiry, second factor and recovery codes left (never a secret)",
      tag: 'account-security',
      params: idParams,
      response: securityView,
      async handler({ params, caller }) {
        const state = await lockout.state(caller.tenantId, params.id);
        const policy = await passwordPolicies.get(caller.tenantId);
        const factor = await mfa.status(caller.tenantId, params.id);
        const expires = passwordExpiresAt(policy, state.passwordChangedAt);
        return {
          status: state.status,
          lockedUntil: state.lockedUntil?.toISOString() ?? null,
          consecutiveFailures: state.failures,
          lockoutCount: state.lockoutCount,
          passwordChangedAt: state.passwordChangedAt?.toISOString() ?? null,
          passwordExpiresAt: expires?.toISOString() ?? null,
          passwordChangeRequired: state.passwordChangeRequired,
          totp: factor.totp,
          recoveryCodesLeft: factor.recoveryCodesLeft,
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/users/:id/unlock',
      permission: 'users:unlock',
      summary: 'Lift the lock of a user locked after failed sign-ins (409 user.not_locked otherwise); audited and recorded in its status history',
      tag: 'account-security',
      params: idParams,
      body: z.object({ reason: z.string().trim().min(1).max(500).optional() }).strict(),
      async handler({ params, body, caller, ctx }) {
        await lockout.unlock(params.id, changeRequestOf(caller, ctx), body.reason);
        return undefined;
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/users/:id/mfa',
      permission: 'users:reset-mfa',
      summary: "Remove a user's authenticator app and recovery codes (a lost device); the user is told by mail. 404 when the user has none",
      tag: 'account-security',
      params: idParams,
      async handler({ params, caller, ctx }) {
        await services.directoryUsers.get(caller.tenantId, params.id);
        if (!(await mfa.resetFor(params.id, changeRequestOf(caller, ctx)))) {
          throw new AppError('mfa.not_enabled', 404, 'the user has no second factor');
        }
        return undefined;
      },
    }),
    defineRoute({
      method: 'post',
      path: '/users/:id/password-reset',
      permission: 'users:send-password-reset',
      summary: 'Send the user a password-reset link by mail at once (the same single-use link as the sign-in page\'s "forgot password"); audited. 409 user.no_email when it has no email address, user.inactive when it is inactive',
      tag: 'account-security',
      params: idParams,
      body: z.object({}).strict(),
      async handler({ params, caller, ctx }) {
        await services.directoryUsers.get(caller.tenantId, params.id);
        await services.passwordReset.sendByAdministrator(params.id, `${services.issuer}/account/password/reset`, changeRequestOf(caller, ctx));
        return undefined;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/users/:id/passkeys',
      permission: 'users:list-passkeys',
      summary: "A user's passkeys: name, transports, whether synced, when registered and last used (never a key)",
      tag: 'account-security',
      params: idParams,
      response: z.object({ items: z.array(passkeyView) }),
      async handler({ params, caller }) {
        await services.directoryUsers.get(caller.tenantId, params.id);
        const items = await services.passkeys.list(caller.tenantId, params.id);
        return {
          items: items.map((p) => ({ id: p.id, name: p.name, transports: p.transports, synced: p.backupState, createdAt: p.createdAt.toISOString(), lastUsedAt: p.lastUsedAt?.toISOString() ?? null })),
        };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/users/:id/passkeys/:passkeyId',
      permission: 'users:remove-passkey',
      summary: "Remove one of a user's passkeys (a lost device); audited, and the user is told by mail. 404 passkey.not_found",
      tag: 'account-security',
      params: z.object({ id: z.guid(), passkeyId: z.guid() }),
      async handler({ params, caller, ctx }) {
        await services.directoryUsers.get(caller.tenantId, params.id);
        await services.passkeys.removeFor(params.id, params.passkeyId, changeRequestOf(caller, ctx));
        return undefined;
      },
    }),
  ];
}
