// Every change to a user row announces itself: a PostgreSQL NOTIFY on the channel
// gatehouse_user_changed, sent when the changing transaction commits, to every Gatehouse node
// listening on the database. Each node keeps the users its token and userinfo requests look up
// in a cache (src/services/users.ts) that this keeps true whoever made the change: a service,
// the CLI in another process, a migration, or SQL typed by an operator. The payload is the
// changed ids (comma-separated), or '*' when a statement changed so many that it is simpler to
// drop everything (a NOTIFY payload holds at most 8000 bytes).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create or replace function gatehouse_notify_user_change() returns trigger
    language plpgsql as $$
    declare
      changed_ids text;
    begin
      select case when count(*) > 150 then '*' else string_agg(distinct id::text, ',') end into changed_ids from changed;
      if changed_ids is not null then
        perform pg_notify('gatehouse_user_changed', changed_ids);
      end if;
      return null;
    end;
    $$
  `);
  // Statement-level with a transition table: one notification per statement, however many rows.
  // A transition table belongs to one event, hence one trigger each.
  await knex.raw('create trigger users_notify_update after update on users referencing old table as changed for each statement execute function gatehouse_notify_user_change()');
  await knex.raw('create trigger users_notify_delete after delete on users referencing old table as changed for each statement execute function gatehouse_notify_user_change()');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop trigger if exists users_notify_update on users');
  await knex.raw('drop trigger if exists users_notify_delete on users');
  await knex.raw('drop function if exists gatehouse_notify_user_change()');
}
