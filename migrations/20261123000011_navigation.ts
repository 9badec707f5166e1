// Security-trimmed navigation: the menu items an application defines, each optionally guarded by
// one permission of one API resource, and the tenant's overrides on top of them (rename, reorder,
// move, disable) keyed by the item's stable key.
import type { Knex } from 'knex';
import { createTenantTable, ownerRef, timestamps } from './lib/schema.ts';

export async function up(knex: Knex): Promise<void> {
  await createTenantTable(knex, 'navigation_items', 'uuid', (t) => {
    ownerRef(t, 'application_id', 'applications', 'text');
    // Stable per application: overrides refer to it, so it survives a redefinition of the menu.
    t.text('key').notNullable();
    t.text('label').notNullable();
    t.text('path');
    t.text('parent_key');
    t.integer('sort_order').notNullable().defaultTo(0);
    // Both null: visible to everyone. Otherwise the caller needs `required_permission` among
    // their permissions for `required_resource` (an API resource identifier).
    t.text('required_resource');
    t.text('required_permission');
    timestamps(t, knex);
    t.unique(['tenant_id', 'application_id', 'key'], { indexName: 'navigation_items_app_key_unique' });
    t.check('(required_resource is null) = (required_permission is null)', [], 'navigation_items_permission_check');
  });

  await createTenantTable(knex, 'navigation_overrides', 'none', (t) => {
    ownerRef(t, 'application_id', 'applications', 'text');
    t.text('item_key').notNullable();
    // null: the item's own label / order.
    t.text('label');
    t.integer('sort_order');
    // moved = false: the item's own parent; moved with parent_key null: the top level.
    t.boolean('moved').notNullable().defaultTo(false);
    t.text('parent_key');
    t.boolean('disabled').notNullable().defaultTo(false);
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['tenant_id', 'application_id', 'item_key']);
    t.check('moved or parent_key is null', [], 'navigation_overrides_parent_check');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('navigation_overrides');
  await knex.schema.dropTableIfExists('navigation_items');
}
