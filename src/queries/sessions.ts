// SQL for session records, the grants issued in each session, and the session settings of
// tenants and applications. Row <-> object mapping only; the rules are in services/sessions.ts.
import type { Knex } from 'knex';
import { fieldsOf } from './rows.ts';

export interface SessionRecord {
  uid: string;
  tenantId: string;
  userId: string;
  identityId: string | null;
  deviceType: string;
  browser: string | null;
  os: string | null;
  userAgent: string | null;
  ip: string | null;
  createdAt: Date;
  authenticatedAt: Date;
  lastActiveAt: Date;
  endedAt: Date | null;
  endReason: string | null;
  endedByType: string | null;
  endedById: string | null;
}

interface SessionRow {
  uid: string;
  tenant_id: string;
  user_id: string;
  identity_id: string | null;
  device_type: string;
  browser: string | null;
  os: string | null;
  user_agent: string | null;
  ip: string | null;
  created_at: Date | string;
  authenticated_at: Date | string;
  last_active_at: Date | string;
  ended_at: Date | string | null;
  end_reason: string | null;
  ended_by_type: string | null;
  ended_by_id: string | null;
}

export interface SessionGrant {
  grantId: string;
  sessionUid: string;
  userId: string;
  clientId: string;
  identityId: string | null;
}

export interface SessionListFilter {
  userId?: string;
  /** The user's username, any case. */
  username?: string;
  identityId?: string;
  /** The kind of the session's identity (internal, client…). */
  identityKind?: string;
  deviceType?: string;
  clientId?: string;
  ip?: string;
  /** Keyset: the sort key of the last row of the previous page. */
  after?: { lastActiveAt: Date; uid: string };
  limit: number;
}

export interface StoredSessionSettings {
  idleTimeoutSeconds: number;
  absoluteLifetimeSeconds: number;
  endSessionsOnPasswordChange: boolean;
}

export interface StoredApplicationSessionSettings {
  idleTimeoutSeconds: number | null;
  absoluteLifetimeSeconds: number | null;
}

const date = (value: Date | string) => new Date(value);

function toRecord(row: SessionRow): SessionRecord {
  return {
    ...fieldsOf(row, ['uid', 'tenantId', 'userId', 'identityId', 'deviceType', 'browser', 'os', 'userAgent', 'ip', 'endReason', 'endedByType', 'endedById']),
    createdAt: date(row.created_at),
    authenticatedAt: date(row.authenticated_at),
    lastActiveAt: date(row.last_active_at),
    endedAt: row.ended_at ? date(row.ended_at) : null,
  };
}

export function createSessionQueries(knex: Knex) {
  return {
    /**
     * A password sign-in: creates the record of a new session, or, for a sign-in again within an
     * open session, restarts its absolute lifetime (device, address and activity are refreshed).
     * Ended sessions are never reopened. Returns the record as stored, undefined when ended.
     */
    async upsertSignIn(record: Omit<SessionRecord, 'endedAt' | 'endReason' | 'endedByType' | 'endedById' | 'identityId'>): Promise<SessionRecord | undefined> {
      const result = await knex.raw(
        `insert into user_sessions (uid, tenant_id, user_id, device_type, browser, os, user_agent, ip, created_at, authenticated_at, last_active_at)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         on conflict (uid) do update set authenticated_at = excluded.authenticated_at, last_active_at = excluded.last_active_at,
           device_type = excluded.device_type, browser = excluded.browser, os = excluded.os, user_agent = excluded.user_agent, ip = excluded.ip
         where user_sessions.ended_at is null and user_sessions.user_id = excluded.user_id
         returning *`,
        [record.uid, record.tenantId, record.userId, record.deviceType, record.browser, record.os, record.userAgent, record.ip, record.createdAt, record.authenticatedAt, record.lastActiveAt],
      );
      const rows = (result as { rows: SessionRow[] }).rows;
      return rows[0] ? toRecord(rows[0]) : undefined;
    },

    async findByUid(uid: string): Promise<SessionRecord | undefined> {
      const row: SessionRow | undefined = await knex('user_sessions').where({ uid }).first();
      return row ? toRecord(row) : undefined;
    },

    async findActive(tenantId: string, uids: string[]): Promise<SessionRecord[]> {
      if (!uids.length) return [];
      const rows: SessionRow[] = await knex('user_sessions').where({ tenant_id: tenantId }).whereIn('uid', uids).whereNull('ended_at');
      return rows.map(toRecord);
    },

    /** Last activity (and the address it came from, when known) of a session still open. */
    async touch(uid: string, at: Date, ip: string | undefined): Promise<void> {
      await knex('user_sessions')
        .where({ uid })
        .whereNull('ended_at')
        .update({ last_active_at: at, ...(ip ? { ip } : {}) });
    },

    /**
     * Marks open sessions ended and returns the ones this call ended: of two nodes ending the
     * same session at once, exactly one gets it back (and revokes, audits and notifies).
     */
    async markEnded(tenantId: string, uids: string[], end: { at: Date; reason: string; byType: string; byId: string | null }): Promise<SessionRecord[]> {
      if (!uids.length) return [];
      const rows: SessionRow[] = await knex('user_sessions')
        .where({ tenant_id: tenantId })
        .whereIn('uid', uids)
        .whereNull('ended_at')
        .update({ ended_at: end.at, end_reason: end.reason, ended_by_type: end.byType, ended_by_id: end.byId })
        .returning('*');
      return rows.map(toRecord);
    },

    /** Open sessions, most recently active first. */
    async list(tenantId: string, filter: SessionListFilter): Promise<SessionRecord[]> {
      const query = knex('user_sessions as s').where('s.tenant_id', tenantId).whereNull('s.ended_at').select('s.*');
      if (filter.userId) query.andWhere('s.user_id', filter.userId);
      if (filter.username) {
        const username = filter.username.toLowerCase();
        query.whereIn('s.user_id', (sub) => sub.select('u.id').from('users as u').where('u.tenant_id', tenantId).andWhereRaw('lower(u.username) = ?', [username]));
      }
      if (filter.identityId) query.andWhere('s.identity_id', filter.identityId);
      if (filter.identityKind) {
        const kind = filter.identityKind;
        query.whereIn('s.identity_id', (sub) => sub.select('i.id').from('identities as i').where('i.tenant_id', tenantId).andWhere('i.kind', kind));
      }
      if (filter.deviceType) query.andWhere('s.device_type', filter.deviceType);
      if (filter.ip) query.andWhere('s.ip', filter.ip);
      if (filter.clientId) {
        const clientId = filter.clientId;
        query.whereExists((sub) => sub.select(knex.raw('1')).from('session_grants as g').whereRaw('g.session_uid = s.uid').andWhere('g.client_id', clientId));
      }
      if (filter.after) query.andWhereRaw('(s.last_active_at, s.uid) < (?, ?)', [filter.after.lastActiveAt, filter.after.uid]);
      const rows: SessionRow[] = await query
        .orderBy([
          { column: 's.last_active_at', order: 'desc' },
          { column: 's.uid', order: 'desc' },
        ])
        .limit(filter.limit);
      return rows.map(toRecord);
    },

    async openUidsOfUser(tenantId: string, userId: string): Promise<string[]> {
      const rows: { uid: string }[] = await knex('user_sessions').where({ tenant_id: tenantId, user_id: userId }).whereNull('ended_at').select('uid');
      return rows.map((r) => r.uid);
    },

    /** Open sessions in which the identity was used: its current identity or one of its grants'. */
    async openUidsOfIdentity(tenantId: string, identityId: string): Promise<string[]> {
      const rows: { uid: string }[] = await knex('user_sessions as s')
        .where('s.tenant_id', tenantId)
        .whereNull('s.ended_at')
        .andWhere((q) => q.where('s.identity_id', identityId).orWhereExists((sub) => sub.select(knex.raw('1')).from('session_grants as g').whereRaw('g.session_uid = s.uid').andWhere('g.identity_id', identityId)))
        .select('s.uid');
      return rows.map((r) => r.uid);
    },

    /** A batch of open sessions of the tenant, for ending all of them a batch at a time. */
    async openUids(tenantId: string, limit: number): Promise<string[]> {
      const rows: { uid: string }[] = await knex('user_sessions').where({ tenant_id: tenantId }).whereNull('ended_at').orderBy('uid').limit(limit).select('uid');
      return rows.map((r) => r.uid);
    },

    /** Open sessions past the tenant's idle timeout or absolute lifetime. */
    async expiredUids(tenantId: string, cutoffs: { lastActiveBefore: Date; authenticatedBefore: Date }, limit: number): Promise<{ uid: string; reason: 'idle_timeout' | 'absolute_lifetime' }[]> {
      const rows: { uid: string; authenticated_at: Date | string }[] = await knex('user_sessions')
        .where({ tenant_id: tenantId })
        .whereNull('ended_at')
        .andWhere((q) => q.where('last_active_at', '<', cutoffs.lastActiveBefore).orWhere('authenticated_at', '<', cutoffs.authenticatedBefore))
        .orderBy('last_active_at')
        .limit(limit)
        .select('uid', 'authenticated_at');
      return rows.map((r) => ({ uid: r.uid, reason: date(r.authenticated_at) < cutoffs.authenticatedBefore ? 'absolute_lifetime' : 'idle_timeout' }));
    },

    /** Removes records (and their grant rows) of sessions that ended before the cutoff. */
    async deleteEndedBefore(cutoff: Date): Promise<number> {
      return knex.transaction(async (trx) => {
        const uids = trx('user_sessions').whereNotNull('ended_at').andWhere('ended_at', '<', cutoff).select('uid');
        await trx('session_grants').whereIn('session_uid', uids).delete();
        return Number(await trx('user_sessions').whereNotNull('ended_at').andWhere('ended_at', '<', cutoff).delete());
      });
    },

    /**
     * Records that a grant was issued in a session (for which identity), and makes that identity
     * the session's identity in use. One statement; rows are rewritten only when something
     * changed, so signing in to the same application again writes nothing.
     */
    async recordGrant(tenantId: string, grant: SessionGrant): Promise<void> {
      await knex.raw(
        `with recorded as (
           insert into session_grants (grant_id, tenant_id, session_uid, user_id, client_id, identity_id) values (?, ?, ?, ?, ?, ?)
           on conflict (grant_id) do update set identity_id = excluded.identity_id, session_uid = excluded.session_uid
           where session_grants.identity_id is distinct from excluded.identity_id or session_grants.session_uid <> excluded.session_uid
         )
         update user_sessions set identity_id = ?::uuid
         where uid = ? and ended_at is null and ?::uuid is not null and identity_id is distinct from ?::uuid`,
        [grant.grantId, tenantId, grant.sessionUid, grant.userId, grant.clientId, grant.identityId, grant.identityId, grant.sessionUid, grant.identityId, grant.identityId],
      );
    },

    async grantsOfSessions(uids: string[]): Promise<SessionGrant[]> {
      if (!uids.length) return [];
      const rows: { grant_id: string; session_uid: string; user_id: string; client_id: string; identity_id: string | null }[] = await knex('session_grants').whereIn('session_uid', uids);
      return rows.map((r) => ({ grantId: r.grant_id, sessionUid: r.session_uid, userId: r.user_id, clientId: r.client_id, identityId: r.identity_id }));
    },

    async grantIdsOfUser(tenantId: string, userId: string): Promise<string[]> {
      const rows: { grant_id: string }[] = await knex('session_grants').where({ tenant_id: tenantId, user_id: userId }).select('grant_id');
      return rows.map((r) => r.grant_id);
    },

    async grantIdsOfIdentity(tenantId: string, identityId: string): Promise<string[]> {
      const rows: { grant_id: string }[] = await knex('session_grants').where({ tenant_id: tenantId, identity_id: identityId }).select('grant_id');
      return rows.map((r) => r.grant_id);
    },

    /** The applications each session signed in to, by name, for the session lists. */
    async applicationsOfSessions(uids: string[]): Promise<{ sessionUid: string; clientId: string; name: string }[]> {
      if (!uids.length) return [];
      const rows: { session_uid: string; client_id: string; name: string | null }[] = await knex('session_grants as g')
        .leftJoin('applications as a', 'a.id', 'g.client_id')
        .whereIn('g.session_uid', uids)
        .distinct('g.session_uid', 'g.client_id', 'a.name')
        .orderBy(['g.session_uid', 'g.client_id']);
      return rows.map((r) => ({ sessionUid: r.session_uid, clientId: r.client_id, name: r.name ?? r.client_id }));
    },

    async tenantIds(): Promise<string[]> {
      const rows: { id: string }[] = await knex('tenants').select('id');
      return rows.map((r) => r.id);
    },

    async usernames(tenantId: string, userIds: string[]): Promise<Map<string, string>> {
      if (!userIds.length) return new Map();
      const rows: { id: string; username: string }[] = await knex('users')
        .where({ tenant_id: tenantId })
        .whereIn('id', [...new Set(userIds)])
        .select('id', 'username');
      return new Map(rows.map((r) => [r.id, r.username]));
    },

    async identities(tenantId: string, ids: string[]): Promise<Map<string, { id: string; kind: string; alias: string }>> {
      if (!ids.length) return new Map();
      const rows: { id: string; kind: string; alias: string }[] = await knex('identities')
        .where({ tenant_id: tenantId })
        .whereIn('id', [...new Set(ids)])
        .select('id', 'kind', 'alias');
      return new Map(rows.map((r) => [r.id, r]));
    },

    async tenantSettings(tenantId: string): Promise<StoredSessionSettings | undefined> {
      const row: { idle_timeout_seconds: number; absolute_lifetime_seconds: number; end_sessions_on_password_change: boolean } | undefined = await knex('session_settings').where({ tenant_id: tenantId }).first();
      return row ? { idleTimeoutSeconds: row.idle_timeout_seconds, absoluteLifetimeSeconds: row.absolute_lifetime_seconds, endSessionsOnPasswordChange: row.end_sessions_on_password_change } : undefined;
    },

    async saveTenantSettings(tenantId: string, settings: StoredSessionSettings): Promise<void> {
      await knex('session_settings')
        .insert({ tenant_id: tenantId, idle_timeout_seconds: settings.idleTimeoutSeconds, absolute_lifetime_seconds: settings.absoluteLifetimeSeconds, end_sessions_on_password_change: settings.endSessionsOnPasswordChange, updated_at: knex.fn.now() })
        .onConflict('tenant_id')
        .merge();
    },

    async applicationSettings(applicationId: string): Promise<(StoredApplicationSessionSettings & { tenantId: string }) | undefined> {
      const row: { tenant_id: string; idle_timeout_seconds: number | null; absolute_lifetime_seconds: number | null } | undefined = await knex('application_session_settings').where({ application_id: applicationId }).first();
      return row ? { tenantId: row.tenant_id, idleTimeoutSeconds: row.idle_timeout_seconds, absoluteLifetimeSeconds: row.absolute_lifetime_seconds } : undefined;
    },

    async saveApplicationSettings(tenantId: string, applicationId: string, settings: StoredApplicationSessionSettings): Promise<void> {
      if (settings.idleTimeoutSeconds === null && settings.absoluteLifetimeSeconds === null) {
        await knex('application_session_settings').where({ application_id: applicationId }).delete();
        return;
      }
      await knex('application_session_settings')
        .insert({ application_id: applicationId, tenant_id: tenantId, idle_timeout_seconds: settings.idleTimeoutSeconds, absolute_lifetime_seconds: settings.absoluteLifetimeSeconds, updated_at: knex.fn.now() })
        .onConflict('application_id')
        .merge();
    },
  };
}

export type SessionQueries = ReturnType<typeof createSessionQueries>;
