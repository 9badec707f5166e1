// What the signed-in identity may do on the admin API (GET /me/permissions): the menu shows only
// the sections it may open, and pages show change controls only where it may change.
import { createContext, useContext } from 'react';

export interface Me {
  username: string | null;
  name: string | null;
  identity: { id: string; kind: string; alias: string };
  roles: string[];
  permissions: string[];
}

export const MeContext = createContext<{ me: Me; can: (permission: string) => boolean } | null>(null);

export function useMe() {
  const value = useContext(MeContext);
  if (!value) throw new Error('useMe outside the signed-in layout');
  return value;
}

export function useCan(): (permission: string) => boolean {
  return useMe().can;
}
