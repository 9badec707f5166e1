import { useQuery } from '@tanstack/react-query';
import { NavLink, Outlet, type RouteObject } from 'react-router';
import { Button } from 'react-aria-components';
import { api, unwrap } from './api/client.ts';
import { signIn, signOut } from './auth.ts';
import { MeContext, type Me } from './permissions.tsx';
import { ErrorMessage, Loading } from './ui.tsx';
import { Overview } from './pages/Overview.tsx';
import { UsersPage } from './pages/Users.tsx';
import { UserDetails } from './pages/UserDetails.tsx';
import { SessionsPage } from './pages/Sessions.tsx';
import { RolesPage } from './pages/Roles.tsx';
import { AuditPage } from './pages/Audit.tsx';
import { GroupsPage, ApplicationsPage, ServiceAccountsPage } from './pages/Lists.tsx';

/** The console's sections, each shown to whoever holds the permission that opens it. */
export const sections = [
  { path: '/', label: 'Overview', permission: null },
  { path: '/users', label: 'Users', permission: 'user-maintenance:list' },
  { path: '/sessions', label: 'Sessions', permission: 'sessions:list' },
  { path: '/roles', label: 'Roles', permission: 'roles:list' },
  { path: '/groups', label: 'Groups', permission: 'groups:list' },
  { path: '/applications', label: 'Applications', permission: 'applications:list' },
  { path: '/service-accounts', label: 'Service accounts', permission: 'service-accounts:list' },
  { path: '/audit', label: 'Audit log', permission: 'audit-events:list' },
] as const;

function NoAccess({ me }: { me: Me }) {
  return (
    <main className="centered" id="main">
      <h1>No administrative access</h1>
      <p>
        You are signed in as <strong>{me.username}</strong> with the identity <strong>{me.identity.alias}</strong> ({me.identity.kind}), which holds no
        permission to administer Gatehouse.
      </p>
      <p>
        <a href="/account">Go to your account</a> to see your own details and sessions.
      </p>
      <p className="actions">
        <Button className="button" onPress={() => void signIn('/console/', { prompt: 'select_account' })}>
          Use another identity
        </Button>
        <Button className="button" onPress={() => void signOut()}>
          Sign out
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
        <h1>Gatehouse console</h1>
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
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Gatehouse console</span>
        <span className="who">
          {me.data.username} · {me.data.identity.alias}
        </span>
        <Button className="button small" onPress={() => void signOut()}>
          Sign out
        </Button>
      </header>
      <div className="shell">
        <nav aria-label="Console sections" className="nav">
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
      { path: '*', element: <p>There is no such page.</p> },
    ],
  },
];
