import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, unwrap } from '../api/client.ts';
import { sections } from '../App.tsx';
import { formatNumber, t } from '../i18n.ts';
import { useMe } from '../permissions.tsx';
import { ErrorMessage, Loading } from '../ui.tsx';
import { SelectField } from '../widgets/index.ts';
import { SignInChart } from './ops/SignInChart.tsx';
import './ops/ops.css';

type Range = '24h' | '7d' | '30d';

const HOUR_MS = 3_600_000;

/** The window and bucket of a range: whole hours (or local days) up to the current one. */
function windowOf(range: Range, now = new Date()): { from: string; to: string; bucket: 'hour' | 'day' } {
  if (range === '30d') {
    const end = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
    return { from: new Date(end.getTime() - 30 * 24 * HOUR_MS).toISOString(), to: end.toISOString(), bucket: 'day' };
  }
  const end = new Date(Math.ceil((now.getTime() + 1) / HOUR_MS) * HOUR_MS);
  const hours = range === '24h' ? 24 : 7 * 24;
  return { from: new Date(end.getTime() - hours * HOUR_MS).toISOString(), to: end.toISOString(), bucket: 'hour' };
}

function Counts() {
  const counts = useQuery({ queryKey: ['overview-counts'], queryFn: () => unwrap(api.GET('/api/v1/overview/counts')) });
  if (counts.error) return <ErrorMessage error={counts.error} />;
  if (!counts.data) return <Loading />;
  const items = [
    { label: t('Users'), value: counts.data.users },
    { label: t('Identities'), value: counts.data.identities },
    { label: t('Active sessions'), value: counts.data.activeSessions },
    { label: t('Applications'), value: counts.data.applications },
  ];
  return (
    <dl className="counts" aria-label={t('The tenant at a glance')}>
      {items.map((item) => (
        <div key={item.label}>
          <dt>{item.label}</dt>
          <dd>{formatNumber(item.value)}</dd>
        </div>
      ))}
    </dl>
  );
}

function Activity() {
  const [range, setRange] = useState<Range>('24h');
  const [windows] = useState(() => ({ '24h': windowOf('24h'), '7d': windowOf('7d'), '30d': windowOf('30d') }));
  const query = windows[range];
  const activity = useQuery({ queryKey: ['sign-in-activity', query], queryFn: () => unwrap(api.GET('/api/v1/audit-events/sign-in-activity', { params: { query } })) });
  const titles: Record<Range, string> = { '24h': t('Sign-ins in the last 24 hours'), '7d': t('Sign-ins in the last 7 days'), '30d': t('Sign-ins in the last 30 days') };
  return (
    <section aria-labelledby="activity-heading">
      <h2 id="activity-heading">{t('Sign-ins and failures')}</h2>
      <div className="filters">
        <SelectField
          compact
          label={t('Period')}
          value={range}
          choices={[
            { id: '24h', label: t('Last 24 hours') },
            { id: '7d', label: t('Last 7 days') },
            { id: '30d', label: t('Last 30 days') },
          ]}
          onChange={(v) => setRange(v as Range)}
        />
      </div>
      <ErrorMessage error={activity.error} />
      {activity.data ? <SignInChart buckets={activity.data.buckets} bucket={activity.data.bucket} title={titles[range]} /> : !activity.error && <Loading />}
    </section>
  );
}

export function Overview() {
  const { me, can } = useMe();
  const open = sections.filter((s) => s.permission !== null && can(s.permission));
  return (
    <>
      <h1>{t('Overview')}</h1>
      <p>{t('Signed in as {name} with the identity {alias} ({kind}); roles: {roles}.', { name: me.name ?? me.username ?? '—', alias: me.identity.alias, kind: me.identity.kind, roles: me.roles.join(', ') || t('none') })}</p>
      {can('overview:read') && <Counts />}
      {can('sign-in-activity:read') && <Activity />}
      <h2>{t('Sections you can open')}</h2>
      <ul className="cards">
        {open.map((s) => (
          <li key={s.path}>
            <Link to={s.path}>{s.label}</Link>
          </li>
        ))}
      </ul>
      <details>
        <summary>{t('Your {count} administrative permissions', { count: me.permissions.length })}</summary>
        <p className="mono">{me.permissions.join(' ')}</p>
      </details>
    </>
  );
}
