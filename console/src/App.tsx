import { useQuery } from '@tanstack/react-query';
import { NavLink, Outlet, type RouteObject } from 'react-router';
import { Button } from 'react-aria-components';
import { api, unwrap } from './api/client.ts';
import { signIn, signOut } from './auth.ts';
import { MeContext, type Me } from './permissions.tsx';
import { ErrorMessage, Loading } from './ui.tsx';
import { t } from './i18n.ts';
import { Overview } from './pages/Overview.tsx';
import { UsersPage } from './pages/Users.tsx';
import { UserDetails } from './pages/UserDetails.tsx';
import { SessionsPage } from './pages/Sessions.tsx';
import { RolesPage } from './pages/Roles.tsx';
import { AuditPage } from './pages/Audit.tsx';
import { GroupsPage, ApplicationsPage, ServiceAccountsPage } from './pages/Lists.tsx';
import { TenantSettingsPage } from './pages/tenant/TenantSettings.tsx';

/** The console's sections, each shown to whoever holds the permission that opens it; labels in the page's language. */
export const sections = [
  { path: '/', label: t('Overview'), permission: null },
  { path: '/users', label: t('Users'), permission: 'user-maintenance:list' },
  { path: '/sessions', label: t('Sessions'), permission: 'sessions:list' },
  { path: '/roles', label: t('Roles'), permission: 'roles:list' },
  { path: '/groups', label: t('Groups'), permission: 'groups:list' },
  { path: '/applications', label: t('Applications'), permission: 'applications:list' },
  { path: '/service-accounts', label: t('Service accounts'), permission: 'service-accounts:list' },
  { path: '/audit', label: t('Audit log'), permission: 'audit-events:list' },
  { path: '/tenant', label: t('Tenant settings'), permission: 'tenant-settings:read' },
] as const;

function NoAccess({ me }: { me: Me }) {
  return (
    <main className="centered" id="main">
      <h1>{t('No administrative access')}</h1>
      <p>{t('You are signed in as {username} with the identity {alias} ({kind}), which holds no permission to administer Gatehouse.', { username: me.username ?? '—', alias: me.identity.alias ?? '—', kind: me.identity.kind ?? '—' })}</p>
      <p>
        <a href="/account">{t('Go to your account to see your own details and sessions.')}</a>
      </p>
      <p className="actions">
        <Button className="button" onPress={() => void signIn('/console/', { prompt: 'select_account' })}>
          {t('Use another identity')}
        </Button>
        <Button className="button" onPress={() => void signOut()}>
          {t('Sign out')}
        </Button>
      </p>
    </main>
  );
}

function Layout() {
  const me = useQuery({ queryKey: ['me'], queryFn: () => unwrap(api.GET('/api/v1/me/permissions')) });
  if (me.isPending) return <Loading />;
  if (me.error) {
    return (
      <main className="centered" id="main">
        <h1>{t('Gatehouse console')}</h1>
        <ErrorMessage error={me.error} />
      </main>
    );
  }
  const held = new Set(me.data.permissions);
  if (held.size === 0) return <NoAccess me={me.data} />;
  const can = (permission: string) => held.has(permission);
  return (
    <MeContext.Provider value={{ me: me.data, can }}>
      <a className="skip" href="#main">
        {t('Skip to content')}
      </a>
      <header className="top">
        <span className="brand">{t('Gatehouse console')}</span>
        <span className="who">
          {me.data.username} · {me.data.identity.alias}
        </span>
        <Button className="button small" onPress={() => void signOut()}>
          {t('Sign out')}
        </Button>
      </header>
      <div className="shell">
        <nav aria-label={t('Console sections')} className="nav">
          <ul>
            {sections
              .filter((s) => s.permission === null || can(s.permission))
              .map((s) => (
                <li key={s.path}>
                  <NavLink to={s.path} end={s.path === '/'}>
                    {s.label}
                  </NavLink>
                </li>
              ))}
          </ul>
        </nav>
        <main id="main" tabIndex={-1} className="content">
          <Outlet />
        </main>
      </div>
    </MeContext.Provider>
  );
}

export const routes: RouteObject[] = [
  {
    path: '/',
    element: <Layout />,
    children: [
      { index: true, element: <Overview /> },
      { path: 'callback', element: <Overview /> },
      { path: 'users', element: <UsersPage /> },
      { path: 'users/:id', element: <UserDetails /> },
      { path: 'sessions', element: <SessionsPage /> },
      { path: 'roles', element: <RolesPage /> },
      { path: 'groups', element: <GroupsPage /> },
      { path: 'applications', element: <ApplicationsPage /> },
      { path: 'service-accounts', element: <ServiceAccountsPage /> },
      { path: 'audit', element: <AuditPage /> },
      { path: 'tenant', element: <TenantSettingsPage /> },
      { path: '*', element: <p>{t('There is no such page.')}</p> },
    ],
  },
];
