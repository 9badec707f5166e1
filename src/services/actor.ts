// Who did something, as recorded in the audit log.
export interface Actor {
  actorType: 'user' | 'service' | 'system' | 'anonymous' | 'cli';
  actorId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
}

export const SYSTEM_ACTOR: Actor = { actorType: 'system', actorId: null };
export const CLI_ACTOR: Actor = { actorType: 'cli', actorId: null };
