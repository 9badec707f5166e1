// What happens to a user that other features must react to (ending sessions, sending a
// notification mail) without the service that changes the user knowing about them. Listeners
// run in registration order and are awaited: when emit resolves, every reaction is done.
export type UserEvent =
  | { type: 'user.password_changed'; tenantId: string; userId: string; /** The session the change was made in, kept alive. */ sessionUid?: string }
  | { type: 'user.locked'; tenantId: string; userId: string; until: Date | null }
  // Account security: a second factor was set up, reset, or its recovery codes changed.
  | { type: 'user.mfa_changed'; tenantId: string; userId: string; change: 'enabled' | 'reset' | 'recovery_codes_regenerated' | 'recovery_code_used' }
  // A passkey was registered or removed.
  | { type: 'user.passkey_changed'; tenantId: string; userId: string; change: 'added' | 'removed' }
  | { type: 'user.deactivated'; tenantId: string; userId: string }
  // An administrator changed the sign-in name or the email address (where reset links go).
  | { type: 'user.login_changed'; tenantId: string; userId: string; username: { before: string; after: string }; email: { before: string | null; after: string | null } }
  | { type: 'user.deleted'; tenantId: string; userId: string }
  | { type: 'identity.removed'; tenantId: string; userId: string; identityId: string };

export type UserEventListener = (event: UserEvent) => Promise<void>;

export interface UserEvents {
  on(listener: UserEventListener): void;
  emit(event: UserEvent): Promise<void>;
}

export function createUserEvents(): UserEvents {
  const listeners: UserEventListener[] = [];
  return {
    on(listener) {
      listeners.push(listener);
    },
    async emit(event) {
      for (const listener of listeners) await listener(event);
    },
  };
}
