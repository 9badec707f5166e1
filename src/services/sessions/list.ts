// The session lists: the tenant's open sessions for administrators (filters, keyset pages) and a
// user's own, each with its user, the identity in use, the applications signed in to, and when
// it ends unless used again.
import { z } from 'zod';
import type { SessionRecord } from '../../queries/sessions.ts';
import { decodeCursor, encodeCursor, pageOf } from '../cursor.ts';
import { invalidInput } from '../errors.ts';
import type { SessionServiceDeps } from '../sessions.ts';
import { UID_PATTERN } from './hot-copy.ts';
import type { SessionSettings } from './settings.ts';

export interface SessionView {
  id: string;
  userId: string;
  username: string | null;
  /** The identity in use: that of the last application signed in to in this session. */
  identity: { id: string; kind: string; alias: string } | null;
  deviceType: string;
  browser: string | null;
  os: string | null;
  ip: string | null;
  createdAt: Date;
  authenticatedAt: Date;
  lastActiveAt: Date;
  /** When the session ends unless used again (idle timeout) or at the latest (absolute lifetime). */
  idleExpiresAt: Date;
  absoluteExpiresAt: Date;
  applications: { clientId: string; name: string }[];
}

export interface SessionPage {
  items: SessionView[];
  nextCursor: string | null;
}

export const sessionListQuerySchema = z.object({
  userId: z.guid().optional(),
  username: z.string().min(1).max(200).optional().describe("the user's username, any case"),
  identityId: z.guid().optional(),
  identityKind: z.string().min(1).max(64).optional().describe("the kind of the session's identity (internal, client…)"),
  deviceType: z.string().min(1).max(40).optional(),
  clientId: z.string().min(1).max(200).optional(),
  ip: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});
export type SessionListQuery = z.input<typeof sessionListQuerySchema>;

const cursorSchema = z.tuple([z.iso.datetime(), z.string().regex(UID_PATTERN)]);

function encodeSessionCursor(record: SessionRecord): string {
  return encodeCursor([record.lastActiveAt.toISOString(), record.uid]);
}

function decodeSessionCursor(cursor: string): { lastActiveAt: Date; uid: string } {
  const [lastActiveAt, uid] = decodeCursor(cursor, cursorSchema, 'session.invalid_cursor');
  return { lastActiveAt: new Date(lastActiveAt), uid };
}

export function createSessionList(deps: Pick<SessionServiceDeps, 'queries'> & { settingsOf(tenantId: string): Promise<SessionSettings> }) {
  const queries = deps.queries.sessions;

  async function present(tenantId: string, records: SessionRecord[]): Promise<SessionView[]> {
    const settings = await deps.settingsOf(tenantId);
    const apps = await queries.applicationsOfSessions(records.map((r) => r.uid));
    const names = await queries.usernames(
      tenantId,
      records.map((r) => r.userId),
    );
    const identities = await queries.identities(
      tenantId,
      records.flatMap((r) => (r.identityId ? [r.identityId] : [])),
    );
    return records.map((r) => ({
      id: r.uid,
      userId: r.userId,
      username: names.get(r.userId) ?? null,
      identity: (r.identityId && identities.get(r.identityId)) || null,
      deviceType: r.deviceType,
      browser: r.browser,
      os: r.os,
      ip: r.ip,
      createdAt: r.createdAt,
      authenticatedAt: r.authenticatedAt,
      lastActiveAt: r.lastActiveAt,
      idleExpiresAt: new Date(r.lastActiveAt.getTime() + settings.idleTimeoutSeconds * 1000),
      absoluteExpiresAt: new Date(r.authenticatedAt.getTime() + settings.absoluteLifetimeSeconds * 1000),
      applications: apps.filter((a) => a.sessionUid === r.uid).map((a) => ({ clientId: a.clientId, name: a.name })),
    }));
  }

  return {
    async list(tenantId: string, input: SessionListQuery): Promise<SessionPage> {
      const parsed = sessionListQuerySchema.safeParse(input);
      if (!parsed.success) throw invalidInput('session.invalid_query', parsed.error);
      // The filters go to the query as they are named; the cursor and the page size become its keyset bounds.
      const { cursor, limit, ...filters } = parsed.data;
      const rows = await queries.list(tenantId, { ...filters, after: cursor ? decodeSessionCursor(cursor) : undefined, limit: limit + 1 });
      const { page, nextCursor } = pageOf(rows, limit, encodeSessionCursor);
      return { items: await present(tenantId, page), nextCursor };
    },

    /** The user's own open sessions, most recently active first. */
    async listForUser(tenantId: string, userId: string): Promise<SessionView[]> {
      return present(tenantId, await queries.list(tenantId, { userId, limit: 500 }));
    },
  };
}
