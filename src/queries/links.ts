// SQL of the link tables (group_members, group_roles, identity_roles): rows that tie one owner
// (a group, an identity) to each of several ids, unique per owner and id.
import type { Knex } from 'knex';

/** A link table and its two columns: the owner's and the linked id's. */
export interface LinkTable {
  table: string;
  owner: string;
  linked: string;
}

/** Adds the links from `ownerId` to `ids` that are missing; returns the ids actually added. */
export async function addLinks(db: Knex, links: LinkTable, tenantId: string, ownerId: string, ids: string[]): Promise<string[]> {
  if (!ids.length) return [];
  const rows: Record<string, string>[] = await db(links.table)
    .insert(ids.map((id) => ({ tenant_id: tenantId, [links.owner]: ownerId, [links.linked]: id })))
    .onConflict([links.owner, links.linked])
    .ignore()
    .returning(links.linked);
  return rows.map((row) => row[links.linked]);
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
