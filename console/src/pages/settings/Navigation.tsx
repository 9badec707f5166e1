// The navigation menus editor: an application's menu as the tenant sees it, where each item can
// be renamed, moved up or down among its siblings, disabled or enabled, and reset to what the
// application defines. Every change is a tenant override (PUT or DELETE
// /applications/{clientId}/navigation/overrides/{key}); the application's own definition stays.
import { useEffect, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Button, Input, TextField } from 'react-aria-components';
import { api, unwrap } from '../../api/client.ts';
import type { components } from '../../api/schema';
import { t } from '../../i18n.ts';
import { useCan } from '../../permissions.tsx';
import { ErrorMessage, Field, Loading } from '../../ui.tsx';
import { SelectField, useChange } from '../../widgets/index.ts';
import { ReadOnlyNotice } from './controls.tsx';

type Item = components['schemas']['NavigationAdminNode'];
type Override = { label?: string; sortOrder?: number; disabled?: boolean };

export function NavigationPage() {
  const can = useCan();
  const apps = useQuery({ queryKey: ['applications'], enabled: can('applications:list'), queryFn: () => unwrap(api.GET('/api/v1/applications')) });
  const [clientId, setClientId] = useState('');
  const [typed, setTyped] = useState('');
  useEffect(() => {
    if (!clientId && apps.data?.applications[0]) setClientId(apps.data.applications[0].clientId);
  }, [apps.data, clientId]);
  const editable = can('navigation:override');
  return (
    <>
      <h1>{t('Navigation menus')}</h1>
      <ReadOnlyNotice show={!editable} />
      {can('applications:list') ? (
        apps.data ? (
          <SelectField compact label={t('Application')} value={clientId || null} choices={apps.data.applications.map((a) => ({ id: a.clientId, label: a.name }))} onChange={setClientId} />
        ) : (
          <ErrorMessage error={apps.error} />
        )
      ) : (
        <form
          className="filters"
          onSubmit={(e) => {
            e.preventDefault();
            setClientId(typed.trim());
          }}
        >
          <Field label={t('Application client id')} name="clientId" value={typed} onChange={setTyped} />
          <Button className="button" type="submit">
            {t('Show menu')}
          </Button>
        </form>
      )}
      {clientId && <Menu clientId={clientId} editable={editable} mayReset={can('navigation:reset')} />}
    </>
  );
}

function Menu({ clientId, editable, mayReset }: { clientId: string; editable: boolean; mayReset: boolean }) {
  const queryClient = useQueryClient();
  const tree = useQuery({ queryKey: ['navigation', clientId], queryFn: () => unwrap(api.GET('/api/v1/applications/{clientId}/navigation', { params: { path: { clientId } } })) });
  const override = useMutation({
    mutationFn: async (changes: { key: string; body: Override }[]) => {
      let last;
      for (const change of changes) last = await unwrap(api.PUT('/api/v1/applications/{clientId}/navigation/overrides/{key}', { params: { path: { clientId, key: change.key } }, body: change.body }));
      return last;
    },
    onSuccess: (data) => data && queryClient.setQueryData(['navigation', clientId], data),
  });
  const reset = useChange((key: string) => unwrap(api.DELETE('/api/v1/applications/{clientId}/navigation/overrides/{key}', { params: { path: { clientId, key } } })), { reads: [['navigation', clientId]] });
  if (tree.isPending) return <Loading />;
  if (tree.error) return <ErrorMessage error={tree.error} />;
  /** Moves an item among its siblings; every sibling gets its new position so that equal orders cannot tie. */
  const move = (siblings: Item[], index: number, by: -1 | 1) => {
    const order = [...siblings];
    const [item] = order.splice(index, 1);
    order.splice(index + by, 0, item!);
    override.mutate(order.map((s, i) => ({ key: s.key, body: { sortOrder: (i + 1) * 10 } })).filter((c, i) => order[i]!.sortOrder !== c.body.sortOrder));
  };
  const actions = { editable, mayReset, move, setOverride: (key: string, body: Override) => override.mutate([{ key, body }]), reset: (key: string) => reset.mutate(key), busy: override.isPending || reset.isPending };
  return (
    <section aria-labelledby="menu-items">
      <h2 id="menu-items">{t('Menu of {application}', { application: tree.data.application })}</h2>
      <ErrorMessage error={override.error ?? reset.error} />
      {tree.data.items.length === 0 ? <p>{t('This application defines no menu.')}</p> : <Items items={tree.data.items} actions={actions} />}
    </section>
  );
}

interface Actions {
  editable: boolean;
  mayReset: boolean;
  busy: boolean;
  move(siblings: Item[], index: number, by: -1 | 1): void;
  setOverride(key: string, body: Override): void;
  reset(key: string): void;
}

function Items({ items, actions }: { items: Item[]; actions: Actions }) {
  return (
    <ul className="plain">
      {items.map((item, index) => (
        <li key={item.key}>
          <ItemRow item={item} siblings={items} index={index} actions={actions} />
          {item.children.length > 0 && <Items items={item.children} actions={actions} />}
        </li>
      ))}
    </ul>
  );
}

function ItemRow({ item, siblings, index, actions }: { item: Item; siblings: Item[]; index: number; actions: Actions }) {
  const [label, setLabel] = useState(item.label);
  useEffect(() => setLabel(item.label), [item.label]);
  return (
    <article className="card" aria-label={t('Menu item {label}', { label: item.label })}>
      <div className="title-row">
        <strong>{item.label}</strong>
        <span className="mono small">{item.path ?? '—'}</span>
        {item.disabled && <span className="badge inactive">{t('disabled')}</span>}
        {item.overridden && <span className="badge">{t('changed for this tenant')}</span>}
      </div>
      {item.overridden && item.defined.label !== item.label && <p className="muted small">{t('The application calls it {label}.', { label: item.defined.label })}</p>}
      {item.requiredPermission && <p className="muted small">{t('Shown to holders of {permission}', { permission: `${item.requiredPermission.resource} ${item.requiredPermission.permission}` })}</p>}
      {(actions.editable || (actions.mayReset && item.overridden)) && (
        <div className="actions">
          {actions.editable && (
            <>
              <form
                className="actions"
                onSubmit={(e) => {
                  e.preventDefault();
                  actions.setOverride(item.key, { label });
                }}
              >
                <TextField className="field" value={label} onChange={setLabel} aria-label={t('New name for {label}', { label: item.label })}>
                  <Input />
                </TextField>
                <Button className="button" type="submit" isDisabled={actions.busy || label.trim() === item.label}>
                  {t('Rename')}
                </Button>
              </form>
              <Button className="button" aria-label={t('Move {label} up', { label: item.label })} isDisabled={actions.busy || index === 0} onPress={() => actions.move(siblings, index, -1)}>
                {t('Up')}
              </Button>
              <Button className="button" aria-label={t('Move {label} down', { label: item.label })} isDisabled={actions.busy || index === siblings.length - 1} onPress={() => actions.move(siblings, index, 1)}>
                {t('Down')}
              </Button>
              <Button className="button" isDisabled={actions.busy} onPress={() => actions.setOverride(item.key, { disabled: !item.disabled })}>
                {item.disabled ? t('Enable') : t('Disable')}
              </Button>
            </>
          )}
          {actions.mayReset && item.overridden && (
            <Button className="button" isDisabled={actions.busy} onPress={() => actions.reset(item.key)}>
              {t("Reset to the application's definition")}
            </Button>
          )}
        </div>
      )}
    </article>
  );
}
