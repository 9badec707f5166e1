// Another tenant in the test's database, for checks that nothing of one tenant reaches another.
import { randomUUID } from 'node:crypto';
import { uniqueName, type TestGatehouse } from './gatehouse.ts';

export interface OtherTenant {
  tenantId: string;
  /** A role named Foreign. */
  roleId: string;
  /** An active user of that tenant (its username starts with "foreigner"), and its one identity. */
  userId: string;
  identityId: string;
}

/** Runs `check` while another tenant with a role, a user and an identity of its own exists; deletes that tenant after. */
export async function withOtherTenant(gh: TestGatehouse, check: (other: OtherTenant) => Promise<void>): Promise<void> {
  const { knex } = gh.context;
  const other: OtherTenant = { tenantId: uniqueName('tenant'), roleId: randomUUID(), userId: randomUUID(), identityId: randomUUID() };
  await knex('tenants').insert({ id: other.tenantId, name: 'Other' });
  try {
    await knex('roles').insert({ id: other.roleId, tenant_id: other.tenantId, name: 'Foreign' });
    await knex('users').insert({ id: other.userId, tenant_id: other.tenantId, username: uniqueName('foreigner'), status: 'active' });
    await knex('identities').insert({ id: other.identityId, tenant_id: other.tenantId, user_id: other.userId, kind: 'internal', alias: 'x' });
    await check(other);
  } finally {
    await knex('tenants').where({ id: other.tenantId }).delete();
  }
}
