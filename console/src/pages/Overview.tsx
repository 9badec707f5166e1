import { Link } from 'react-router';
import { sections } from '../App.tsx';
import { useMe } from '../permissions.tsx';

export function Overview() {
  const { me, can } = useMe();
  const open = sections.filter((s) => s.permission !== null && can(s.permission));
  return (
    <>
      <h1>Overview</h1>
      <p>
        Signed in as <strong>{me.name ?? me.username}</strong> with the identity <strong>{me.identity.alias}</strong> ({me.identity.kind}); roles:{' '}
        {me.roles.join(', ') || 'none'}.
      </p>
      <h2>Sections you can open</h2>
      <ul className="cards">
        {open.map((s) => (
          <li key={s.path}>
            <Link to={s.path}>{s.label}</Link>
          </li>
        ))}
      </ul>
      <details>
        <summary>Your {me.permissions.length} administrative permissions</summary>
        <p className="mono">{me.permissions.join(' ')}</p>
      </details>
    </>
  );
}
