import type { Knex } from 'knex';

export interface Database {
  readonly kind: 'postgres' | 'pglite';
  readonly knex: Knex;
  /** Throws when the database cannot be reached. */
  ping(): Promise<void>;
  /**
   * LISTEN on a channel (PostgreSQL NOTIFY, delivered after the notifying transaction commits,
   * to every process listening on the database). `onReset` runs whenever notifications may have
   * been missed (the listening connection dropped); `listening()` says whether they arrive now.
   */
  listen(channel: string, onNotify: (payload: string) => void, onReset: () => void): Promise<Listener>;
  close(): Promise<void>;
}

export interface Listener {
  /** True while notifications are being received. */
  listening(): boolean;
  close(): Promise<void>;
}
