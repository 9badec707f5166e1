// Passkeys: WebAuthn Level 3 public-key credentials, through @simplewebauthn/server (attestation,
// COSE keys, signatures and client data are checked by the library, not by hand). Rules:
// - the relying-party id and the allowed origins follow from the issuer unless the tenant's
//   settings or the configuration say otherwise (services/tenant-settings.ts; WebAuthn L3
//   §5.1.4.1, "RP ID" is the host or a registrable suffix of it);
// - a challenge is 32 random bytes, kept in the store for five minutes and used once: it is
//   consumed atomically before the response is verified (§13.4.3);
// - user verification is required by default, so a passkey counts as two factors (something you
//   have + something you are / know, NIST SP 800-63B rev 4 §3.1.7);
// - the signature counter must grow when either side is non-zero; a counter lower than or equal
//   to the stored one means a cloned authenticator (§6.1.1): refused and audited;
// - the backup-eligible flag cannot change after registration (§6.1.3); the backup state is kept;
// - every registration, rename and removal is audited, and registration and removal are
//   announced (user.passkey_changed) for the notification mail (OWASP ASVS 5 V6.3.7).
import { randomUUID } from 'node:crypto';
import type { AuthenticationResponseJSON, AuthenticatorTransport, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { z } from 'zod';
import type { Queries } from '../queries/index.ts';
import type { PasskeyRow } from '../queries/passkeys.ts';
import type { KeyValueStore } from '../store/types.ts';
import type { Actor } from './actor.ts';
import type { AuditService } from './audit.ts';
import { assertMayManageUser, type Administrator } from './administration.ts';
import { AppError } from './errors.ts';
import type { UserEvents } from './user-events.ts';
import { opaqueKey } from './secrets.ts';

// The WebAuthn library (with its certificate parsers, several MB of heap) is loaded on the first
// passkey ceremony, not at start: most deployments and requests never need it.
const loadWebauthn = () => import('@simplewebauthn/server');
let webauthnLibrary: ReturnType<typeof loadWebauthn> | undefined;
const webauthn = () => (webauthnLibrary ??= loadWebauthn());

export interface PasskeySettings {
  /** The relying-party id: the issuer's host name unless configured. */
  rpId: string;
  rpName: string;
  /** Origins a ceremony may come from: the issuer's origin unless configured. */
  origins: string[];
  userVerification: 'required' | 'preferred';
  /** Which authenticators may be registered: any, built into the device, or roaming keys. */
  attachment: 'any' | 'platform' | 'cross-platform';
}

/** The settings that follow from the issuer, overridden by configuration where given. */
export function passkeySettings(issuer: string, configured: Partial<PasskeySettings> = {}): PasskeySettings {
  const url = new URL(issuer);
  return {
    rpId: configured.rpId ?? url.hostname,
    rpName: configured.rpName ?? 'Gatehouse',
    origins: configured.origins?.length ? configured.origins : [url.origin],
    userVerification: configured.userVerification ?? 'required',
    attachment: configured.attachment ?? 'any',
  };
}

export interface Passkey {
  id: string;
  name: string;
  transports: string[];
  backupEligible: boolean;
  backupState: boolean;
  createdAt: Date;
  lastUsedAt: Date | null;
}

const toPasskey = (row: PasskeyRow): Passkey => ({ id: row.id, name: row.name, transports: row.transports, backupEligible: row.backup_eligible, backupState: row.backup_state, createdAt: row.created_at, lastUsedAt: row.last_used_at });

/** What the browser posts back: parsed at the edge, the library checks the rest. */
const responseShape = z
  .object({
    id: z.string().max(1400),
    rawId: z.string().max(1400),
    type: z.literal('public-key'),
    response: z.record(z.string(), z.unknown()),
    clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
    authenticatorAttachment: z.string().optional(),
  })
  .passthrough();

export const PASSKEY_NAME_MAX = 60;
const CHALLENGE_TTL_SECONDS = 300;

export type PasskeyFailure = 'invalid' | 'unknown_credential' | 'cloned' | 'wrong_user';

export type PasskeyAssertion = { ok: true; userId: string; passkeyId: string; userVerified: boolean; backupEligible: boolean } | { ok: false; reason: PasskeyFailure; userId?: string };

export function parsePasskeyResponse(raw: string): unknown {
  try {
    return responseShape.parse(JSON.parse(raw));
  } catch {
    throw new AppError('passkey.invalid_response', 400, 'The passkey answer could not be read. Try again.');
  }
}

export function createPasskeyService(deps: {
  queries: Queries;
  store: KeyValueStore;
  audit: AuditService;
  events: UserEvents;
  /** The tenant's relying party and rules (services/tenant-settings.ts), read for every ceremony. */
  settingsOf: (tenantId: string) => Promise<PasskeySettings>;
  now?: () => Date;
}) {
  const queries = deps.queries.passkeys;
  const now = deps.now ?? (() => new Date());
  const regKey = (tenantId: string, userId: string) => `passkey:reg:${tenantId}:${userId}`;
  const authKey = (tenantId: string, key: string) => `passkey:auth:${tenantId}:${opaqueKey(key)}`;
  const cleanName = (name: string) => name.replace(/\s+/g, ' ').trim().slice(0, PASSKEY_NAME_MAX);

  async function announce(tenantId: string, userId: string, change: 'added' | 'removed'): Promise<void> {
    await deps.events.emit({ type: 'user.passkey_changed', tenantId, userId, change });
  }

  return {
    async list(tenantId: string, userId: string): Promise<Passkey[]> {
      return (await queries.listForUser(tenantId, userId)).map(toPasskey);
    },

    async count(tenantId: string, userId: string): Promise<number> {
      return queries.countForUser(tenantId, userId);
    },

    /** Options for navigator.credentials.create(); the challenge waits for register(). */
    async registrationOptions(tenantId: string, user: { id: string; username: string; name?: string | null }): Promise<PublicKeyCredentialCreationOptionsJSON> {
      const settings = await deps.settingsOf(tenantId);
      const existing = await queries.credentialsOf(tenantId, user.id);
      const options = await (
        await webauthn()
      ).generateRegistrationOptions({
        rpName: settings.rpName,
        rpID: settings.rpId,
        userName: user.username,
        userDisplayName: user.name ?? user.username,
        // The user handle is the user's id, never the username (WebAuthn L3 §14.6.1).
        userID: Buffer.from(user.id.replace(/-/g, ''), 'hex'),
        attestationType: 'none',
        excludeCredentials: existing.map((c) => ({ id: c.credential_id, transports: c.transports as AuthenticatorTransport[] })),
        authenticatorSelection: {
          residentKey: 'required',
          userVerification: settings.userVerification,
          ...(settings.attachment !== 'any' ? { authenticatorAttachment: settings.attachment } : {}),
        },
        timeout: CHALLENGE_TTL_SECONDS * 1000,
      });
      await deps.store.set(regKey(tenantId, user.id), options.challenge, CHALLENGE_TTL_SECONDS);
      return options;
    },

    /** Verifies and stores a new passkey; 400 when the answer does not match the challenge. */
    async register(tenantId: string, userId: string, input: { response: unknown; name: string }, actor: Actor): Promise<Passkey> {
      const settings = await deps.settingsOf(tenantId);
      const challenge = await deps.store.consume(regKey(tenantId, userId));
      if (!challenge) throw new AppError('passkey.expired', 400, 'The passkey request expired. Start again.');
      let info;
      try {
        const result = await (
          await webauthn()
        ).verifyRegistrationResponse({
          response: input.response as RegistrationResponseJSON,
          expectedChallenge: challenge,
          expectedOrigin: settings.origins,
          expectedRPID: settings.rpId,
          requireUserVerification: settings.userVerification === 'required',
        });
        if (!result.verified || !result.registrationInfo) throw new Error('not verified');
        info = result.registrationInfo;
      } catch {
        throw new AppError('passkey.invalid_response', 400, 'The passkey could not be verified. Try again.');
      }
      const attachment = (input.response as RegistrationResponseJSON).authenticatorAttachment;
      if (settings.attachment !== 'any' && attachment && attachment !== settings.attachment) throw new AppError('passkey.attachment', 400, 'This kind of passkey is not allowed here.');
      const name = cleanName(input.name) || 'Passkey';
      const row = await deps.queries.transaction(async (tx) => {
        const inserted = await tx.passkeys.insert({
          id: randomUUID(),
          tenantId,
          userId,
          credentialId: info.credential.id,
          publicKey: Buffer.from(info.credential.publicKey),
          counter: info.credential.counter,
          transports: info.credential.transports ?? [],
          backupEligible: info.credentialDeviceType === 'multiDevice',
          backupState: info.credentialBackedUp,
          name,
        });
        if (!inserted) throw new AppError('passkey.duplicate', 409, 'This passkey is already registered.');
        await deps.audit.record({ tenantId, action: 'user.passkey_added', ...actor, targetType: 'user', targetId: userId, details: { passkeyId: inserted.id, name, backupEligible: inserted.backup_eligible } }, tx.db);
        return inserted;
      });
      await announce(tenantId, userId, 'added');
      return toPasskey(row);
    },

    async rename(tenantId: string, userId: string, passkeyId: string, name: string, actor: Actor): Promise<void> {
      const clean = cleanName(name);
      if (!clean) throw new AppError('passkey.name', 400, 'Enter a name for the passkey.');
      await deps.queries.transaction(async (tx) => {
        if (!(await tx.passkeys.rename(tenantId, userId, passkeyId, clean))) throw new AppError('passkey.not_found', 404, 'There is no such passkey.');
        await deps.audit.record({ tenantId, action: 'user.passkey_renamed', ...actor, targetType: 'user', targetId: userId, details: { passkeyId, name: clean } }, tx.db);
      });
    },

    async remove(tenantId: string, userId: string, passkeyId: string, actor: Actor, by?: Administrator): Promise<void> {
      await deps.queries.transaction(async (tx) => {
        // An administrator removing a user's passkey is managing the user (services/administration.ts).
        if (by) await assertMayManageUser(tx.db, by, userId);
        if (!(await tx.passkeys.remove(tenantId, userId, passkeyId))) throw new AppError('passkey.not_found', 404, 'There is no such passkey.');
        await deps.audit.record({ tenantId, action: 'user.passkey_removed', ...actor, targetType: 'user', targetId: userId, details: { passkeyId } }, tx.db);
      });
      await announce(tenantId, userId, 'removed');
    },

    /** An administrator removes one of a user's passkeys (a lost device); audited, the user told by mail. */
    async removeFor(userId: string, passkeyId: string, by: Administrator & { actor: Actor }): Promise<void> {
      await this.remove(by.tenantId, userId, passkeyId, by.actor, by);
    },

    /**
     * Options for navigator.credentials.get() bound to `key` (an interaction). With a user, only
     * that user's passkeys are allowed (second factor); without, any discoverable one (first factor).
     */
    async authenticationOptions(tenantId: string, key: string, userId?: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
      const settings = await deps.settingsOf(tenantId);
      const allow = userId ? await queries.credentialsOf(tenantId, userId) : [];
      const options = await (
        await webauthn()
      ).generateAuthenticationOptions({
        rpID: settings.rpId,
        userVerification: settings.userVerification,
        allowCredentials: allow.map((c) => ({ id: c.credential_id, transports: c.transports as AuthenticatorTransport[] })),
        timeout: CHALLENGE_TTL_SECONDS * 1000,
      });
      await deps.store.set(authKey(tenantId, key), options.challenge, CHALLENGE_TTL_SECONDS);
      return options;
    },

    /** Verifies an assertion for the challenge bound to `key` (used once, whatever the outcome). */
    async authenticate(tenantId: string, key: string, response: unknown, request: Pick<Actor, 'ip' | 'userAgent'>, expectedUserId?: string): Promise<PasskeyAssertion> {
      const settings = await deps.settingsOf(tenantId);
      const challenge = await deps.store.consume(authKey(tenantId, key));
      if (!challenge) return { ok: false, reason: 'invalid' };
      const credentialId = (response as AuthenticationResponseJSON).id;
      const row = await queries.findByCredential(tenantId, credentialId);
      if (!row) return { ok: false, reason: 'unknown_credential' };
      if (expectedUserId && row.user_id !== expectedUserId) return { ok: false, reason: 'wrong_user', userId: expectedUserId };
      const stored = Number(row.counter);
      let info;
      try {
        // The counter is compared below, where a clone can be audited; the library sees 0.
        const result = await (
          await webauthn()
        ).verifyAuthenticationResponse({
          response: response as AuthenticationResponseJSON,
          expectedChallenge: challenge,
          expectedOrigin: settings.origins,
          expectedRPID: settings.rpId,
          credential: { id: row.credential_id, publicKey: new Uint8Array(row.public_key), counter: 0, transports: row.transports as AuthenticatorTransport[] },
          requireUserVerification: settings.userVerification === 'required',
        });
        if (!result.verified) return { ok: false, reason: 'invalid', userId: row.user_id };
        info = result.authenticationInfo;
      } catch {
        return { ok: false, reason: 'invalid', userId: row.user_id };
      }
      const backupEligible = info.credentialDeviceType === 'multiDevice';
      if (backupEligible !== row.backup_eligible) return { ok: false, reason: 'invalid', userId: row.user_id };
      // WebAuthn L3 §6.1.1: a signature counter that did not grow means two copies of the key.
      // The update is conditional, so two concurrent uses of the same counter cannot both pass.
      if (!(await queries.recordUse(row.id, { storedCounter: stored, newCounter: info.newCounter, backupState: info.credentialBackedUp, at: now() }))) {
        await deps.audit.record({
          tenantId,
          action: 'user.passkey_clone_suspected',
          result: 'failure',
          actorType: 'anonymous',
          actorId: null,
          ...request,
          targetType: 'user',
          targetId: row.user_id,
          details: { passkeyId: row.id, storedCounter: stored, presentedCounter: info.newCounter },
        });
        return { ok: false, reason: 'cloned', userId: row.user_id };
      }
      return { ok: true, userId: row.user_id, passkeyId: row.id, userVerified: info.userVerified, backupEligible };
    },
  };
}

export type PasskeyService = ReturnType<typeof createPasskeyService>;
