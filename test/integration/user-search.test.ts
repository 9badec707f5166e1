// The admin user search at scale: substring matches on username, email and name are answered
// from the trigram indexes (migrations/20261201040000_user_search_indexes.ts) instead of a walk
// through the whole table. Plans, not timings, are checked.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { createUserQueries } from '../../src/queries/users.ts';
import { gatehouseForSuite, storageMode, uniqueName } from '../helpers/gatehouse.ts';

class RolledBack extends Error {}

describe(`user search indexes (${storageMode})`, function () {
  const gh = gatehouseForSuite();

  /**
   * The plans of the statements search() sends for `q`, over 5,000 extra users inserted in a
   * transaction that is rolled back: enough rows for the planner to weigh indexes by cost.
   */
  async function plansOf(q: string): Promise<string[]> {
    const knex = gh.context.knex;
    const plans: string[] = [];
    await knex
      .transaction(async (trx) => {
        await trx.raw(
          `insert into users (id, tenant_id, username, email, name, status)
           select gen_random_uuid(), 'default', 'plan-user-' || g, 'plan-user-' || g || '@example.test', 'Plan User ' || g, 'active' from generate_series(1, 5000) as g`,
        );
        // New rows wait in each GIN index's pending list until (auto)vacuum or the list's size
        // limit merges them, and the planner counts a full list against the index.
        for (const index of ['users_username_trgm', 'users_email_trgm', 'users_name_trgm']) await trx.raw('select gin_clean_pending_list(?::regclass)', [index]);
        await trx.raw('analyze users');
        // Still few rows for a sequential scan to lose by cost: rule it out, as a table of
        // 100,000 users does by itself.
        await trx.raw('set local enable_seqscan = off');
        const statements: { sql: string; bindings: readonly unknown[] }[] = [];
        const listener = (query: { sql: string; bindings?: readonly unknown[] }) => statements.push({ sql: query.sql, bindings: query.bindings ?? [] });
        knex.on('query', listener);
        try {
          await createUserQueries(knex).search('default', { q, limit: 51 }, trx);
        } finally {
          knex.off('query', listener);
        }
        const searches = statements.filter((s) => s.sql.includes('ilike'));
        assert.ok(searches.length > 0, 'search() ran a statement with ILIKE');
        for (const search of searches) {
          // The pg driver reports $n placeholders; knex.raw takes ?.
          const explained = await trx.raw(`explain ${search.sql.replace(/\$\d+/g, '?')}`, search.bindings as Knex.RawBinding[]);
          plans.push((explained.rows as { 'QUERY PLAN': string }[]).map((r) => r['QUERY PLAN']).join('\n'));
        }
        throw new RolledBack();
      })
      .catch((error: unknown) => {
        if (!(error instanceof RolledBack)) throw error;
      });
    return plans;
  }

  it('has a trigram index on username, email and name', async function () {
    const rows = (await gh.context.knex.raw("select indexname from pg_indexes where tablename = 'users' and indexname like '%_trgm'")).rows as { indexname: string }[];
    assert.deepEqual(rows.map((r) => r.indexname).sort(), ['users_email_trgm', 'users_name_trgm', 'users_username_trgm']);
  });

  it('answers a rare term from the trigram indexes, sorting the matches, after a bounded walk in username order', async function () {
    const plans = await plansOf('qzxw');
    assert.equal(plans.length, 2, 'the bounded walk found no page, so the matches were found first');
    assert.doesNotMatch(plans[0]!, /_trgm/, 'the walk reads the username index in order');
    assert.match(plans[0]!, /Limit/);
    const plan = plans[1]!;
    assert.match(plan, /Bitmap Index Scan on users_username_trgm/);
    assert.match(plan, /Bitmap Index Scan on users_email_trgm/);
    assert.match(plan, /Bitmap Index Scan on users_name_trgm/);
  });

  it('answers a common term from the bounded walk alone: a page without sorting every match', async function () {
    const plans = await plansOf('plan-user');
    assert.equal(plans.length, 1, 'one statement: the walk filled the page');
    assert.match(plans[0]!, /Index Scan using users_tenant_username_unique/);
    assert.doesNotMatch(plans[0]!, /_trgm/);
  });

  it('still finds and orders the matches exactly, escaping LIKE wildcards', async function () {
    const token = uniqueName('srch').replace(/-/g, '');
    const names = [`zed.${token}`, `amy.${token}`, `bob_${token}`, `bobx${token}`];
    for (const username of names) await gh.context.knex('users').insert({ id: randomUUID(), tenant_id: 'default', username, status: 'active' });
    const users = createUserQueries(gh.context.knex);
    assert.deepEqual(
      (await users.search('default', { q: token, limit: 10 })).map((r) => r.user.username),
      [`amy.${token}`, `bob_${token}`, `bobx${token}`, `zed.${token}`],
    );
    assert.deepEqual(
      (await users.search('default', { q: `b_${token}`, limit: 10 })).map((r) => r.user.username),
      [`bob_${token}`],
      '_ is a character, not a wildcard',
    );
    const first = await users.search('default', { q: token, limit: 2 });
    const next = await users.search('default', { q: token, limit: 2, after: { usernameLower: first[1]!.usernameLower, id: first[1]!.user.id } });
    assert.deepEqual(
      [...first, ...next].map((r) => r.user.username),
      [`amy.${token}`, `bob_${token}`, `bobx${token}`, `zed.${token}`],
    );
  });
});
