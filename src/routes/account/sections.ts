// The account pages, in the order their navigation lists them. A feature that adds a page adds
// its entry here and mounts its own router (see routes/account/index.ts).
export interface AccountSection {
  path: string;
  label: string;
}

export const ACCOUNT_SECTIONS: readonly AccountSection[] = [
  { path: '/account', label: 'Overview' },
  // Account security.
  { path: '/account/password', label: 'Password' },
  { path: '/account/mfa', label: 'Two-step verification' },
  { path: '/account/passkeys', label: 'Passkeys' },
  { path: '/account/sessions', label: 'Sessions' },
];
