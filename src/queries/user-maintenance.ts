// The credential state of a page of users, in one query: the columns the user-maintenance list
// shows beside each user: password set, MFA enrolled, password last changed, lock.
import type { Knex } from 'knex';

export interface CredentialState {
  userId: string;
  passwordSet: boolean;
  passwordChangedAt: Date | null;
  lockedUntil: Date | null;
  mfaEnrolled: boolean;
}

export function createUserMaintenanceQueries(knex: Knex) {
  return {
    async credentialStates(tenantId: string, userIds: string[]): Promise<Map<string, CredentialState>> {
      if (userIds.length === 0) return new Map();
      const rows: { id: string; password_set: boolean; password_changed_at: Date | string | null; locked_until: Date | string | null; mfa_enrolled: boolean }[] = await knex('users as u')
        .leftJoin('user_totp as t', 't.user_id', 'u.id')
        .where('u.tenant_id', tenantId)
        .whereIn('u.id', userIds)
        .select('u.id', knex.raw('u.password_hash is not null as password_set'), 'u.password_changed_at', 'u.locked_until', knex.raw('t.confirmed_at is not null as mfa_enrolled'));
      const toDate = (value: Date | string | null) => (value ? new Date(value) : null);
      return new Map(rows.map((r) => [r.id, { userId: r.id, passwordSet: r.password_set, passwordChangedAt: toDate(r.password_changed_at), lockedUntil: toDate(r.locked_until), mfaEnrolled: r.mfa_enrolled }]));
    },
  };
}
