// The audit log becomes tamper-evident and append-only:
// - a hash chain: every row carries prev_hash and hash = sha256(prev_hash ‖ canonical content);
//   rows written before this migration are chained here, in id order;
// - audit_chain_anchor: the hash the first remaining row links to once a retention purge has
//   removed older rows (the genesis hash before any purge), so verification still starts from
//   a known value;
// - a trigger refusing UPDATE, DELETE and TRUNCATE, except the purge's DELETE (and its move of
//   the anchor) in a transaction that set `gatehouse.audit_purge = 'on'` locally. It guards
//   against the application and careless hands, not against a superuser, who can disable it:
//   the chain is what detects that.
// Backfill and trigger are in one migration, not split schema/data as usual: the columns can only
// become NOT NULL, and the trigger only arrive, once every old row has its hash.
// Deleting a tenant cascades to its audit events and is therefore refused too: audit history
// outlives the tenant until retention removes it.
import type { Knex } from 'knex';
import { chainHash, contentOfRow, GENESIS_HASH, type AuditRow } from '../src/queries/audit.ts';

const BATCH = 1000;

export async function up(knex: Knex): Promise<void> {
  // No node may append between the backfill and the trigger, or its row would lack a hash.
  await knex.raw('lock table audit_events in exclusive mode');
  await knex.schema.alterTable('audit_events', (t) => {
    t.text('prev_hash');
    t.text('hash');
  });
  await knex.schema.createTable('audit_chain_anchor', (t) => {
    t.smallint('id').primary();
    t.text('prev_hash').notNullable();
    t.bigInteger('last_purged_id');
    t.bigInteger('purged_count').notNullable().defaultTo(0);
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check('id = 1', [], 'audit_chain_anchor_single_row');
  });
  await knex('audit_chain_anchor').insert({ id: 1, prev_hash: GENESIS_HASH });

  let prev = GENESIS_HASH;
  let afterId: string | null = null;
  for (;;) {
    const query = knex<AuditRow>('audit_events').orderBy('id').limit(BATCH);
    if (afterId !== null) query.where('id', '>', afterId);
    const rows: AuditRow[] = await query;
    if (!rows.length) break;
    const values: [string, string, string][] = [];
    for (const row of rows) {
      const hash = chainHash(prev, contentOfRow(row));
      values.push([String(row.id), prev, hash]);
      prev = hash;
    }
    await knex.raw(
      `update audit_events as a set prev_hash = v.prev_hash, hash = v.hash
       from (values ${values.map(() => '(?::bigint, ?, ?)').join(', ')}) as v(id, prev_hash, hash)
       where a.id = v.id`,
      values.flat(),
    );
    afterId = String(rows[rows.length - 1]!.id);
  }

  await knex.schema.alterTable('audit_events', (t) => {
    t.dropNullable('prev_hash');
    t.dropNullable('hash');
  });

  // TG_ARGV[0] names the one operation the purge setting unlocks on that table.
  await knex.raw(`
    create function gatehouse_audit_append_only() returns trigger language plpgsql as $$
    begin
      if tg_op = tg_argv[0] and current_setting('gatehouse.audit_purge', true) = 'on' then
        if tg_op = 'DELETE' then
          return old;
        end if;
        return new;
      end if;
      raise exception '% is append-only: % refused', tg_table_name, tg_op
        using hint = 'old audit events are removed only by the retention purge (gatehouse audit purge)';
    end
    $$`);
  await knex.raw(`create trigger audit_events_append_only before update or delete on audit_events
    for each row execute function gatehouse_audit_append_only('DELETE')`);
  await knex.raw(`create trigger audit_events_no_truncate before truncate on audit_events
    for each statement execute function gatehouse_audit_append_only('none')`);
  await knex.raw(`create trigger audit_chain_anchor_guard before update or delete on audit_chain_anchor
    for each row execute function gatehouse_audit_append_only('UPDATE')`);
  await knex.raw(`create trigger audit_chain_anchor_no_truncate before truncate on audit_chain_anchor
    for each statement execute function gatehouse_audit_append_only('none')`);

  // Keyset pages (id desc) per tenant, and the two filters an investigation starts from.
  await knex.raw('create index audit_events_tenant_id_idx on audit_events (tenant_id, id)');
  await knex.raw('create index audit_events_tenant_actor_idx on audit_events (tenant_id, actor_id, id)');
  await knex.raw('create index audit_events_tenant_target_idx on audit_events (tenant_id, target_id, id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop trigger if exists audit_events_append_only on audit_events');
  await knex.raw('drop trigger if exists audit_events_no_truncate on audit_events');
  await knex.schema.dropTableIfExists('audit_chain_anchor');
  await knex.raw('drop function if exists gatehouse_audit_append_only()');
  await knex.raw('drop index if exists audit_events_tenant_id_idx');
  await knex.raw('drop index if exists audit_events_tenant_actor_idx');
  await knex.raw('drop index if exists audit_events_tenant_target_idx');
  await knex.schema.alterTable('audit_events', (t) => {
    t.dropColumn('prev_hash');
    t.dropColumn('hash');
  });
}
