// SQL of the users' passkeys (WebAuthn credentials): listing, registration, rename, removal, and
// the conditional counter update of a use. No business rules here.
import type { Knex } from 'knex';
import type { TenantOwned } from './rows.ts';

export interface PasskeyRow {
  id: string;
  tenant_id: string;
  user_id: string;
  credential_id: string;
  public_key: Buffer;
  counter: string | number;
  transports: string[];
  backup_eligible: boolean;
  backup_state: boolean;
  name: string;
  created_at: Date;
  last_used_at: Date | null;
}

export interface NewPasskey extends TenantOwned {
  userId: string;
  credentialId: string;
  publicKey: Buffer;
  counter: number;
  transports: string[];
  backupEligible: boolean;
  backupState: boolean;
  name: string;
}

export function createPasskeyQueries(knex: Knex) {
  const table = (db: Knex) => db<PasskeyRow>('user_passkeys');
  return {
    async listForUser(tenantId: string, userId: string, db: Knex = knex): Promise<PasskeyRow[]> {
      return table(db).where({ tenant_id: tenantId, user_id: userId }).orderBy('created_at');
    },

    async countForUser(tenantId: string, userId: string, db: Knex = knex): Promise<number> {
      const row = await table(db).where({ tenant_id: tenantId, user_id: userId }).count<{ count: string }>('id as count').first();
      return Number(row?.count ?? 0);
    },

    /** The credential ids and transports of a user's passkeys (to exclude or allow in a ceremony). */
    async credentialsOf(tenantId: string, userId: string, db: Knex = knex): Promise<{ credential_id: string; transports: string[] }[]> {
      return table(db).where({ tenant_id: tenantId, user_id: userId }).select('credential_id', 'transports');
    },

    async findByCredential(tenantId: string, credentialId: string, db: Knex = knex): Promise<PasskeyRow | undefined> {
      return table(db).where({ tenant_id: tenantId, credential_id: credentialId }).first();
    },

    /** Inserts a passkey; undefined when the tenant has this credential already. */
    async insert(passkey: NewPasskey, db: Knex = knex): Promise<PasskeyRow | undefined> {
      const [inserted] = await table(db)
        .insert({
          id: passkey.id,
          tenant_id: passkey.tenantId,
          user_id: passkey.userId,
          credential_id: passkey.credentialId,
          public_key: passkey.publicKey,
          counter: passkey.counter,
          transports: passkey.transports,
          backup_eligible: passkey.backupEligible,
          backup_state: passkey.backupState,
          name: passkey.name,
        })
        .onConflict(['tenant_id', 'credential_id'])
        .ignore()
        .returning('*');
      return inserted as PasskeyRow | undefined;
    },

    /** Renames one of a user's passkeys; false when the user has no such passkey. */
    async rename(tenantId: string, userId: string, id: string, name: string, db: Knex = knex): Promise<boolean> {
      return (await table(db).where({ tenant_id: tenantId, user_id: userId, id }).update({ name })) > 0;
    },

    /** Removes one of a user's passkeys; false when the user has no such passkey. */
    async remove(tenantId: string, userId: string, id: string, db: Knex = knex): Promise<boolean> {
      return (await table(db).where({ tenant_id: tenantId, user_id: userId, id }).delete()) > 0;
    },

    /**
     * Records a use: the new counter, backup state and time, only while the stored counter is below
     * the new one (or both are zero), so two uses with the same counter cannot both pass. False
     * when the condition did not hold.
     */
    async recordUse(id: string, use: { storedCounter: number; newCounter: number; backupState: boolean; at: Date }, db: Knex = knex): Promise<boolean> {
      const grows = use.newCounter === 0 && use.storedCounter === 0 ? db.raw('counter = 0') : db.raw('counter < ?', [use.newCounter]);
      const updated = await table(db).where({ id }).andWhere(grows).update({ counter: use.newCounter, backup_state: use.backupState, last_used_at: use.at });
      return updated > 0;
    },
  };
}

export type PasskeyQueries = ReturnType<typeof createPasskeyQueries>;
