// Durable copy of oidc-provider artefacts (sessions, grants, refresh tokens).
import type { Knex } from 'knex';
import { json } from './rows.ts';
import { prepareStatement } from '../db/statements.ts';

export interface StoredPayload {
  payload: Record<string, unknown>;
  consumedAt: Date | null;
  expiresAt: Date | null;
}

interface PayloadRow {
  payload: Record<string, unknown> | string;
  consumed_at: Date | string | null;
  expires_at: Date | string | null;
}

export interface PayloadEntry {
  model: string;
  id: string;
  tenantId: string;
  payload: Record<string, unknown>;
  grantId?: string;
  uid?: string;
  accountId?: string;
  expiresAt: Date | null;
}

function toStored(row: PayloadRow): StoredPayload {
  return {
    payload: json<Record<string, unknown>>(row.payload),
    consumedAt: row.consumed_at ? new Date(row.consumed_at) : null,
    expiresAt: row.expires_at ? new Date(row.expires_at) : null,
  };
}

// The statements every token grant runs (find, consume, upsert) bypass knex's query builder: named
// statements on a pooled connection (src/db/statements.ts), prepared once per connection on
// PostgreSQL. Inside a transaction they go through knex, on the transaction's connection.
const SQL = {
  upsert: {
    name: 'oidc_payloads_upsert',
    text:
      'insert into oidc_payloads (model, id, tenant_id, payload, grant_id, uid, account_id, expires_at) values ($1, $2, $3, $4, $5, $6, $7, $8) ' +
      'on conflict (model, id) do update set payload = excluded.payload, grant_id = excluded.grant_id, uid = excluded.uid, account_id = excluded.account_id, expires_at = excluded.expires_at',
  },
  // A rotation in one statement: the used row is marked consumed only if nobody has (the row lock
  // makes a parallel rotation wait and then find it consumed), and its successor is inserted only
  // if this statement consumed it. `consumed` tells the caller whether it won.
  rotate: {
    name: 'oidc_payloads_rotate',
    text:
      'with used as (update oidc_payloads set consumed_at = now() where model = $1::text and id = $9::text and consumed_at is null returning 1), ' +
      'successor as (insert into oidc_payloads (model, id, tenant_id, payload, grant_id, uid, account_id, expires_at) ' +
      'select $1::text, $2::text, $3::text, $4::jsonb, $5::text, $6::text, $7::text, $8::timestamptz where exists (select 1 from used) ' +
      'on conflict (model, id) do update set payload = excluded.payload, grant_id = excluded.grant_id, uid = excluded.uid, account_id = excluded.account_id, expires_at = excluded.expires_at returning 1) ' +
      'select (select count(*) from used)::int as consumed, (select count(*) from successor)::int as written',
  },
  consume: { name: 'oidc_payloads_consume', text: 'update oidc_payloads set consumed_at = now() where model = $1 and id = $2 and consumed_at is null' },
  find: {
    name: 'oidc_payloads_find',
    text: 'select payload, consumed_at, expires_at from oidc_payloads where model = $1 and id = $2 and (expires_at is null or expires_at > now()) limit 1',
  },
};

export function createOidcPayloadQueries(knex: Knex) {
  const direct = knex.isTransaction
    ? undefined
    : {
        upsert: prepareStatement(knex, SQL.upsert.name, SQL.upsert.text),
        rotate: prepareStatement(knex, SQL.rotate.name, SQL.rotate.text),
        consume: prepareStatement(knex, SQL.consume.name, SQL.consume.text),
        find: prepareStatement<PayloadRow>(knex, SQL.find.name, SQL.find.text),
      };
  const run = async <Row>(name: keyof typeof SQL, values: unknown[]): Promise<{ rows: Row[]; rowCount: number }> => {
    if (direct) return (await direct[name].run(values)) as { rows: Row[]; rowCount: number };
    const bindings: unknown[] = [];
    const sql = SQL[name].text.replace(/\$(\d+)/g, (_, n: string) => {
      bindings.push(values[Number(n) - 1]);
      return '?';
    });
    const result = (await knex.raw(sql, bindings as Knex.RawBinding[])) as { rows: Row[]; rowCount?: number | null };
    return { rows: result.rows, rowCount: result.rowCount ?? 0 };
  };
  const values = (entry: PayloadEntry) => [entry.model, entry.id, entry.tenantId, JSON.stringify(entry.payload), entry.grantId ?? null, entry.uid ?? null, entry.accountId ?? null, entry.expiresAt];
  return {
    async upsert(entry: PayloadEntry): Promise<void> {
      await run('upsert', values(entry));
    },
    /**
     * Consumes the row `usedId` of the entry's model and writes `entry` in its place, in one
     * statement: true, with the entry written, only for the one caller that consumed it first
     * (atomic, as consume()); false, with nothing written, if it was consumed or gone already.
     */
    async rotate(usedId: string, entry: PayloadEntry): Promise<boolean> {
      const { rows } = await run<{ consumed: number }>('rotate', [...values(entry), usedId]);
      return Number(rows[0]?.consumed ?? 0) > 0;
    },
    async find(model: string, id: string): Promise<StoredPayload | undefined> {
      const { rows } = await run<PayloadRow>('find', [model, id]);
      return rows[0] ? toStored(rows[0]) : undefined;
    },
    async findByUid(model: string, uid: string): Promise<({ id: string } & StoredPayload) | undefined> {
      const row: (PayloadRow & { id: string }) | undefined = await knex('oidc_payloads')
        .where({ model, uid })
        .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', knex.fn.now()))
        .first('id', 'payload', 'consumed_at', 'expires_at');
      return row ? { id: row.id, ...toStored(row) } : undefined;
    },
    /** Marks the row consumed; true only for the one caller that consumed it first (atomic). */
    async consume(model: string, id: string): Promise<boolean> {
      return (await run('consume', [model, id])).rowCount > 0;
    },
    async destroy(model: string, id: string): Promise<void> {
      await knex('oidc_payloads').where({ model, id }).delete();
    },
    async destroyByGrantId(grantId: string): Promise<void> {
      await knex('oidc_payloads').where({ grant_id: grantId }).delete();
    },
    /** Whether the row was consumed within the last `seconds` (PostgreSQL's clock, as it set it). */
    async consumedWithin(model: string, id: string, seconds: number): Promise<boolean> {
      const row: { recent: boolean } | undefined = await knex('oidc_payloads')
        .where({ model, id })
        .first(knex.raw('consumed_at >= now() - make_interval(secs => ?) as recent', [seconds]));
      return row?.recent === true;
    },
    /** Every stored id of a model with this uid (a session's ids change at every sign-in). */
    async idsByUid(model: string, uid: string): Promise<string[]> {
      const rows: { id: string }[] = await knex('oidc_payloads').where({ model, uid }).select('id');
      return rows.map((r) => r.id);
    },
    async destroyByUid(model: string, uid: string): Promise<void> {
      await knex('oidc_payloads').where({ model, uid }).delete();
    },
    /** Every payload of an account (its sessions, grants and tokens): the account is going away. */
    async destroyByAccount(tenantId: string, accountId: string): Promise<void> {
      await knex('oidc_payloads').where({ tenant_id: tenantId, account_id: accountId }).delete();
    },
    async idsByAccount(model: string, tenantId: string, accountId: string): Promise<string[]> {
      const rows: { id: string }[] = await knex('oidc_payloads').where({ model, tenant_id: tenantId, account_id: accountId }).select('id');
      return rows.map((r) => r.id);
    },
    /**
     * Rows still under a raw id (stored before ids were hashed, src/oidc/hashed-ids.ts). The
     * predicate is the partial index's (migrations/20261204300000_oidc_payloads_unhashed.ts), so
     * once none are left this costs an empty index scan.
     */
    async unhashedIds(limit: number): Promise<{ model: string; id: string }[]> {
      const result = await knex.raw(`select model, id from oidc_payloads where model <> 'Grant' and id not like 'hmac-sha256:%' limit ?`, [limit]);
      return result.rows as { model: string; id: string }[];
    },
    /** Moves a row to its hashed id and takes the raw value out of its payload; a copy already under the new id wins. */
    async rekey(model: string, id: string, newId: string): Promise<void> {
      await knex.transaction(async (trx) => {
        const taken = await trx('oidc_payloads').where({ model, id: newId }).first('id');
        if (taken) await trx('oidc_payloads').where({ model, id }).delete();
        else
          await trx('oidc_payloads')
            .where({ model, id })
            .update({ id: newId, payload: trx.raw(`payload - 'jti'`) });
      });
    },
    async deleteExpired(): Promise<number> {
      return knex('oidc_payloads').where('expires_at', '<', knex.fn.now()).delete();
    },
  };
}

export type OidcPayloadQueries = ReturnType<typeof createOidcPayloadQueries>;
