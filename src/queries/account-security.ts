// SQL for account security: the tenant's password policy, the users' password age, lockout state,
// password history, TOTP secrets, recovery codes, reset tokens and expiry reminders. No business
// rules here. Single-use things are consumed with one conditional UPDATE ... RETURNING, so of
// concurrent callers exactly one gets the row, never a check-then-set in JavaScript.
import type { Knex } from 'knex';
import { dateOrNull, json } from './rows.ts';

export interface UserSecurityRow {
  id: string;
  tenant_id: string;
  username: string;
  email: string | null;
  name: string | null;
  status: 'active' | 'inactive' | 'locked';
  password_hash: string | null;
  password_changed_at: Date | string | null;
  password_change_required: boolean;
  locked_until: Date | string | null;
  lockout_count: number;
}

export interface UserSecurityState {
  passwordChangedAt: Date | null;
  passwordChangeRequired: boolean;
  lockedUntil: Date | null;
  lockoutCount: number;
}

export function toSecurityState(row: Pick<UserSecurityRow, 'password_changed_at' | 'password_change_required' | 'locked_until' | 'lockout_count'>): UserSecurityState {
  return {
    passwordChangedAt: dateOrNull(row.password_changed_at),
    passwordChangeRequired: Boolean(row.password_change_required),
    lockedUntil: dateOrNull(row.locked_until),
    lockoutCount: Number(row.lockout_count ?? 0),
  };
}

export interface ReminderCandidate {
  userId: string;
  username: string;
  email: string;
  name: string | null;
  passwordChangedAt: Date;
}

export function createAccountSecurityQueries(knex: Knex) {
  return {
    async policySettings(tenantId: string, db: Knex = knex): Promise<unknown> {
      const row: { settings: unknown } | undefined = await db('password_policies').where({ tenant_id: tenantId }).first('settings');
      return row ? json(row.settings) : undefined;
    },
    async savePolicySettings(tenantId: string, settings: unknown, db: Knex = knex): Promise<void> {
      await db('password_policies')
        .insert({ tenant_id: tenantId, settings: JSON.stringify(settings), updated_at: db.fn.now() })
        .onConflict('tenant_id')
        .merge(['settings', 'updated_at']);
    },
    /** Tenants whose policy sets an expiry. */
    async tenantsWithPolicies(db: Knex = knex): Promise<{ tenantId: string; settings: unknown }[]> {
      const rows: { tenant_id: string; settings: unknown }[] = await db('password_policies').select('tenant_id', 'settings');
      return rows.map((r) => ({ tenantId: r.tenant_id, settings: json(r.settings) }));
    },

    async securityRow(tenantId: string, userId: string, db: Knex = knex): Promise<UserSecurityRow | undefined> {
      return db<UserSecurityRow>('users').where({ tenant_id: tenantId, id: userId }).first();
    },
    async securityRowForUpdate(tenantId: string, userId: string, trx: Knex.Transaction): Promise<UserSecurityRow | undefined> {
      return trx<UserSecurityRow>('users').where({ tenant_id: tenantId, id: userId }).forUpdate().first();
    },
    /** Sets the password hash and starts a new expiry cycle. */
    async setPassword(tenantId: string, userId: string, passwordHash: string, changeRequired: boolean, db: Knex = knex): Promise<void> {
      await db('users').where({ tenant_id: tenantId, id: userId }).update({ password_hash: passwordHash, password_changed_at: db.fn.now(), password_change_required: changeRequired, updated_at: db.fn.now() });
    },
    /** Replaces the hash only (a re-hash at sign-in): the password and its cycle stay the same. */
    async replaceHash(tenantId: string, userId: string, passwordHash: string, db: Knex = knex): Promise<void> {
      await db('users').where({ tenant_id: tenantId, id: userId }).update({ password_hash: passwordHash });
    },
    async setLock(tenantId: string, userId: string, lockedUntil: Date, lockoutCount: number, trx: Knex): Promise<void> {
      await trx('users').where({ tenant_id: tenantId, id: userId }).update({ status: 'locked', locked_until: lockedUntil, lockout_count: lockoutCount, updated_at: trx.fn.now() });
    },
    /** Lifts a lock; keepCount keeps the repeat count (a cool-down that ran out), else it restarts. */
    async clearLock(tenantId: string, userId: string, keepCount: boolean, trx: Knex): Promise<void> {
      await trx('users')
        .where({ tenant_id: tenantId, id: userId })
        .update({ status: 'active', locked_until: null, ...(keepCount ? {} : { lockout_count: 0 }), updated_at: trx.fn.now() });
    },
    /** Forgets a lockout's end and its repeat count, leaving the status to the caller. */
    async forgetLockout(tenantId: string, userId: string, db: Knex = knex): Promise<void> {
      await db('users').where({ tenant_id: tenantId, id: userId }).update({ locked_until: null, lockout_count: 0 });
    },
    async resetLockoutCount(tenantId: string, userId: string, db: Knex = knex): Promise<void> {
      await db('users').where({ tenant_id: tenantId, id: userId }).where('lockout_count', '>', 0).update({ lockout_count: 0 });
    },

    /** The newest `limit` previous password hashes, newest first. */
    async history(tenantId: string, userId: string, limit: number, db: Knex = knex): Promise<string[]> {
      if (limit <= 0) return [];
      const rows: { password_hash: string }[] = await db('password_history').where({ tenant_id: tenantId, user_id: userId }).orderBy('id', 'desc').limit(limit).select('password_hash');
      return rows.map((r) => r.password_hash);
    },
    /** Records a hash and keeps only the newest `keep`. */
    async addHistory(tenantId: string, userId: string, passwordHash: string, keep: number, db: Knex = knex): Promise<void> {
      await db('password_history').insert({ tenant_id: tenantId, user_id: userId, password_hash: passwordHash });
      await db('password_history')
        .where({ tenant_id: tenantId, user_id: userId })
        .whereNotIn('id', db('password_history').where({ tenant_id: tenantId, user_id: userId }).orderBy('id', 'desc').limit(keep).select('id'))
        .delete();
    },

    async totp(tenantId: string, userId: string, db: Knex = knex): Promise<{ secretEncrypted: string; confirmedAt: Date | null } | undefined> {
      const row: { secret_encrypted: string; confirmed_at: Date | string | null } | undefined = await db('user_totp').where({ tenant_id: tenantId, user_id: userId }).first();
      return row ? { secretEncrypted: row.secret_encrypted, confirmedAt: dateOrNull(row.confirmed_at) } : undefined;
    },
    /** Starts (or restarts) an enrollment; a confirmed TOTP is never replaced this way. */
    async startTotp(tenantId: string, userId: string, secretEncrypted: string, db: Knex = knex): Promise<boolean> {
      const rows = await db('user_totp')
        .insert({ tenant_id: tenantId, user_id: userId, secret_encrypted: secretEncrypted, created_at: db.fn.now(), confirmed_at: null })
        .onConflict('user_id')
        .merge(['secret_encrypted', 'created_at'])
        .where('user_totp.confirmed_at', null)
        .returning('user_id');
      return rows.length > 0;
    },
    async confirmTotp(tenantId: string, userId: string, db: Knex = knex): Promise<boolean> {
      const rows = await db('user_totp').where({ tenant_id: tenantId, user_id: userId }).whereNull('confirmed_at').update({ confirmed_at: db.fn.now() }).returning('user_id');
      return rows.length > 0;
    },
    async deleteTotp(tenantId: string, userId: string, db: Knex = knex): Promise<boolean> {
      const rows = await db('user_totp').where({ tenant_id: tenantId, user_id: userId }).delete().returning('user_id');
      return rows.length > 0;
    },

    async replaceRecoveryCodes(tenantId: string, userId: string, codeHashes: string[], db: Knex = knex): Promise<void> {
      await db('recovery_codes').where({ tenant_id: tenantId, user_id: userId }).delete();
      if (codeHashes.length) await db('recovery_codes').insert(codeHashes.map((code_hash) => ({ tenant_id: tenantId, user_id: userId, code_hash })));
    },
    async deleteRecoveryCodes(tenantId: string, userId: string, db: Knex = knex): Promise<void> {
      await db('recovery_codes').where({ tenant_id: tenantId, user_id: userId }).delete();
    },
    /** Marks the code used if it is unused: true for exactly one of any number of concurrent callers. */
    async useRecoveryCode(tenantId: string, userId: string, codeHash: string, db: Knex = knex): Promise<boolean> {
      const rows = await db('recovery_codes').where({ tenant_id: tenantId, user_id: userId, code_hash: codeHash }).whereNull('used_at').update({ used_at: db.fn.now() }).returning('id');
      return rows.length > 0;
    },
    async unusedRecoveryCodes(tenantId: string, userId: string, db: Knex = knex): Promise<number> {
      const row = await db('recovery_codes').where({ tenant_id: tenantId, user_id: userId }).whereNull('used_at').count<{ count: string | number }[]>('* as count').first();
      return Number(row?.count ?? 0);
    },

    async insertResetToken(tenantId: string, userId: string, tokenHash: string, expiresAt: Date, db: Knex = knex): Promise<void> {
      await db('password_reset_tokens').insert({ tenant_id: tenantId, user_id: userId, token_hash: tokenHash, expires_at: expiresAt });
    },
    /** The user of an unused, unexpired token, without using it up. */
    async findResetToken(tenantId: string, tokenHash: string, now: Date, db: Knex = knex): Promise<string | undefined> {
      const row: { user_id: string } | undefined = await db('password_reset_tokens').where({ tenant_id: tenantId, token_hash: tokenHash }).whereNull('used_at').where('expires_at', '>', now).first('user_id');
      return row?.user_id;
    },
    /** Uses the token up if it is unused and unexpired: true for exactly one concurrent caller. */
    async consumeResetToken(tenantId: string, tokenHash: string, userId: string, now: Date, db: Knex = knex): Promise<boolean> {
      const rows = await db('password_reset_tokens').where({ tenant_id: tenantId, token_hash: tokenHash, user_id: userId }).whereNull('used_at').where('expires_at', '>', now).update({ used_at: now }).returning('id');
      return rows.length > 0;
    },
    /** A new password makes every other outstanding link worthless. */
    async revokeResetTokens(tenantId: string, userId: string, now: Date, db: Knex = knex): Promise<void> {
      await db('password_reset_tokens').where({ tenant_id: tenantId, user_id: userId }).whereNull('used_at').update({ used_at: now });
    },

    /**
     * Active users with an email whose password, set at password_changed_at, expires within
     * `reminderDays` of `now` but has not expired yet, and who have no reminder for that cycle.
     */
    async reminderCandidates(tenantId: string, expiryDays: number, reminderDays: number, now: Date, limit: number, db: Knex = knex): Promise<ReminderCandidate[]> {
      const rows: { id: string; username: string; email: string; name: string | null; password_changed_at: Date | string }[] = await db('users as u')
        .where('u.tenant_id', tenantId)
        .where('u.status', 'active')
        .whereNotNull('u.email')
        .whereNotNull('u.password_hash')
        .whereNotNull('u.password_changed_at')
        .whereRaw('u.password_changed_at + make_interval(days => ?) > ?', [expiryDays, now])
        .whereRaw('u.password_changed_at + make_interval(days => ?) <= ?', [expiryDays - reminderDays, now])
        .whereNotExists((q) => q.select(db.raw('1')).from('password_expiry_reminders as r').whereRaw('r.user_id = u.id and r.cycle = u.password_changed_at'))
        .orderBy('u.id')
        .limit(limit)
        .select('u.id', 'u.username', 'u.email', 'u.name', 'u.password_changed_at');
      return rows.map((r) => ({ userId: r.id, username: r.username, email: r.email, name: r.name, passwordChangedAt: new Date(r.password_changed_at) }));
    },
    /** Claims the reminder of one cycle: true when this call inserted the row. */
    async claimReminder(tenantId: string, userId: string, cycle: Date, trx: Knex): Promise<boolean> {
      const rows = await trx('password_expiry_reminders').insert({ tenant_id: tenantId, user_id: userId, cycle }).onConflict(['user_id', 'cycle']).ignore().returning('user_id');
      return rows.length > 0;
    },

    /** Whether any identity of the user holds one of the roles: directly, through a group, or by the default policy. */
    async userHasAnyRole(tenantId: string, userId: string, roleIds: string[], db: Knex = knex): Promise<boolean> {
      if (roleIds.length === 0) return false;
      const row = await db
        .select(db.raw('1'))
        .from('identities as i')
        .where('i.tenant_id', tenantId)
        .where('i.user_id', userId)
        .where((q) =>
          q
            .whereExists((s) => s.select(db.raw('1')).from('identity_roles as ir').whereRaw('ir.identity_id = i.id').whereIn('ir.role_id', roleIds))
            .orWhereExists((s) => s.select(db.raw('1')).from('group_members as gm').join('group_roles as gr', 'gr.group_id', 'gm.group_id').whereRaw('gm.identity_id = i.id').whereIn('gr.role_id', roleIds))
            .orWhereExists((s) => s.select(db.raw('1')).from('default_policy_roles as d').where('d.tenant_id', tenantId).whereIn('d.role_id', roleIds).whereRaw('(d.identity_kind is null or d.identity_kind = i.kind)')),
        )
        .first();
      return row !== undefined;
    },
  };
}

export type AccountSecurityQueries = ReturnType<typeof createAccountSecurityQueries>;
