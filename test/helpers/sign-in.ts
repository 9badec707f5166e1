// A password sign-in through the sign-in service the login form calls (throttle, lockout,
// status, rehash and all), for tests that need to know whether a password signs in.
import { randomBytes, randomUUID } from 'node:crypto';
import type { GatehouseContext } from '../../src/context.ts';

export interface PasswordSignIn {
  /** The user signed in with the password (possibly with a step still to come: MFA, a new password). */
  userId?: string;
  /** Why not. */
  reason?: string;
}

export async function passwordSignIn(context: GatehouseContext, login: string, password: string): Promise<PasswordSignIn> {
  // A loopback address of its own per attempt: the IP throttle of one test never reaches another.
  const ip = `127.${randomBytes(3).join('.')}`;
  const outcome = await context.signIn.password(context.tenantId, { uid: randomUUID(), login, password, ip, userAgent: 'gatehouse-tests' });
  if (outcome.kind === 'done' || outcome.kind === 'step') return { userId: outcome.userId };
  if (outcome.kind === 'failed') return { reason: outcome.reason };
  return { reason: outcome.kind };
}
