// Appending to the audit log becomes one statement: gatehouse_audit_append(events) takes the
// chain's advisory lock, reads the head (the last row's hash, or the anchor's), links and inserts
// the events in order, and writes their webhook outbox rows, in the caller's transaction (or as a
// transaction of its own when called outside one). Before, the client did each of these steps in
// its own round trip while holding the lock.
//
// The hash is the one src/queries/audit.ts defines, sha256(prev_hash ‖ canonical JSON of the
// content), computed here from the canonical JSON the client sends with each event: the client
// cannot know prev_hash before the lock is held. Verification still recomputes every hash in the
// application, so a mismatch between the two would show as a broken chain, not pass unseen.
//
// Each statement of a VOLATILE plpgsql function takes a new snapshot under READ COMMITTED, so the
// head read after the lock sees the row the previous lock holder committed. Under REPEATABLE READ
// or SERIALIZABLE it would not (the transaction's snapshot is older than the lock), and the chain
// could fork: the function refuses those.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create function gatehouse_audit_append(events jsonb) returns text language plpgsql as $$
    declare
      head text;
      first_prev text;
      hashes text[] := '{}';
      canonical text;
    begin
      if current_setting('transaction_isolation') <> 'read committed' then
        raise exception 'audit events are appended only in READ COMMITTED transactions (not %)', current_setting('transaction_isolation');
      end if;
      perform pg_advisory_xact_lock(74203);
      head := coalesce(
        (select hash from audit_events order by id desc limit 1),
        (select prev_hash from audit_chain_anchor where id = 1),
        repeat('0', 64));
      first_prev := head;
      for canonical in select e.value ->> 'canonical' from jsonb_array_elements(events) with ordinality as e order by e.ordinality loop
        head := encode(sha256(convert_to(head || canonical, 'UTF8')), 'hex');
        hashes := hashes || head;
      end loop;
      -- Ids (nextval, evaluated row by row after the sort) follow the chain order; the lock keeps
      -- every other writer's ids out of the run.
      insert into audit_events (tenant_id, occurred_at, action, result, actor_type, actor_id, target_type, target_id, ip, user_agent, details, prev_hash, hash)
        select r.tenant_id, r.occurred_at, r.action, r.result, r.actor_type, r.actor_id, r.target_type, r.target_id, r.ip, r.user_agent, r.details,
               case when e.ordinality = 1 then first_prev else hashes[e.ordinality - 1] end, hashes[e.ordinality]
          from jsonb_array_elements(events) with ordinality as e
          cross join lateral jsonb_to_record(e.value) as r(tenant_id text, occurred_at timestamptz, action text, result text, actor_type text, actor_id text,
                                                           target_type text, target_id text, ip text, user_agent text, details jsonb)
         order by e.ordinality;
      insert into webhook_events (id, tenant_id, type, payload)
        select (e.value ->> 'webhook_id')::uuid, e.value ->> 'tenant_id', e.value ->> 'action', e.value -> 'payload'
          from jsonb_array_elements(events) with ordinality as e
         order by e.ordinality;
      return head;
    end
    $$`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop function if exists gatehouse_audit_append(jsonb)');
}
