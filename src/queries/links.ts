// SQL of the link tables (group_members, group_roles, identity_roles): rows that tie an owner
// (a group, an identity) to another row, unique per owner and linked id.
import type { Knex } from 'knex';

/** A link table and its two columns: the owner's and the linked id's. */
export interface LinkTable {
  table: string;
  owner: string;
  linked: string;
}

export const GROUP_MEMBERS: LinkTable = { table: 'group_members', owner: 'group_id', linked: 'identity_id' };
export const GROUP_ROLES: LinkTable = { table: 'group_roles', owner: 'group_id', linked: 'role_id' };
export const IDENTITY_ROLES: LinkTable = { table: 'identity_roles', owner: 'identity_id', linked: 'role_id' };

/** Inserts the links of `pairs` ([owner id, linked id]) that are missing; the others stay as they are. */
function insertMissing(db: Knex, links: LinkTable, tenantId: string, pairs: [ownerId: string, id: string][]) {
  return db(links.table)
    .insert(pairs.map(([ownerId, id]) => ({ tenant_id: tenantId, [links.owner]: ownerId, [links.linked]: id })))
    .onConflict([links.owner, links.linked])
    .ignore();
}

/** Adds the links from `ownerId` to `ids` that are missing; returns the ids actually added. */
export async function addLinks(db: Knex, links: LinkTable, tenantId: string, ownerId: string, ids: string[]): Promise<string[]> {
  if (!ids.length) return [];
  const rows: Record<string, string>[] = await insertMissing(
    db,
    links,
    tenantId,
    ids.map((id) => [ownerId, id]),
  ).returning(links.linked);
  return rows.map((row) => row[links.linked]);
}

/** Adds the links of `pairs` ([owner id, linked id]) that are missing. */
export async function addLinkPairs(db: Knex, links: LinkTable, tenantId: string, pairs: [ownerId: string, id: string][]): Promise<void> {
  if (pairs.length) await insertMissing(db, links, tenantId, pairs);
}

/** Removes the link from `ownerId` to `id`; whether there was one. */
export async function removeLink(db: Knex, links: LinkTable, tenantId: string, ownerId: string, id: string): Promise<boolean> {
  return (
    (
      await db(links.table)
        .where({ tenant_id: tenantId, [links.owner]: ownerId, [links.linked]: id })
        .delete()
        .returning('tenant_id')
    ).length > 0
  );
}
