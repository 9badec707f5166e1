// Pickers for the user screens. Roles are searched on the server (a tenant may hold thousands);
// groups and identity kinds are short lists read at once.
import { useEffect, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { ComboBox, Input, Label, ListBox, ListBoxItem, Popover } from 'react-aria-components';
import { api, unwrap } from '../../api/client.ts';
import { t } from '../../i18n.ts';
import { SelectField } from '../../widgets/index.ts';

const ROLE_RESULTS = 20;

/** The value, once it has stopped changing for `ms`. */
function useSettled<T>(value: T, ms = 250): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/** A role chosen by typing part of its name; the server returns the best matches first. */
export function RolePicker(props: { label: string; roleId: string | null; onChange(roleId: string | null, name?: string): void; exclude?: string[] }) {
  const [text, setText] = useState('');
  const q = useSettled(text.trim());
  const roles = useQuery({
    queryKey: ['roles-search', q],
    queryFn: () => unwrap(api.GET('/api/v1/roles', { params: { query: { ...(q ? { q } : {}), limit: ROLE_RESULTS } } })),
  });
  const items = (roles.data?.roles ?? []).filter((r) => !props.exclude?.includes(r.id)).map((r) => ({ id: r.id, name: r.name }));
  return (
    <ComboBox
      className="field"
      items={items}
      inputValue={text}
      onInputChange={setText}
      selectedKey={props.roleId}
      onSelectionChange={(key) => (key === null ? props.onChange(null) : props.onChange(String(key), items.find((r) => r.id === String(key))?.name))}
      menuTrigger="focus"
      allowsEmptyCollection
    >
      <Label>{props.label}</Label>
      <Input placeholder={t('Type part of a role name')} />
      <Popover>
        <ListBox<{ id: string; name: string }> className="listbox" renderEmptyState={() => <p className="muted small">{roles.isPending ? t('Loading…') : t('No role matches.')}</p>}>
          {(role) => <ListBoxItem id={role.id}>{role.name}</ListBoxItem>}
        </ListBox>
      </Popover>
    </ComboBox>
  );
}

export function useGroups(enabled: boolean) {
  return useQuery({ queryKey: ['user-screens', 'groups'], enabled, queryFn: () => unwrap(api.GET('/api/v1/groups', {})) });
}

export function useIdentityKinds(enabled: boolean) {
  return useQuery({ queryKey: ['user-screens', 'identity-kinds'], enabled, queryFn: () => unwrap(api.GET('/api/v1/identity-kinds')) });
}

/** A choice from a short list of options, with an "any" or placeholder first option when given. */
export function Choice(props: { label: string; value: string | null; onChange(value: string | null): void; options: { id: string; name: string }[]; anyLabel?: string; placeholder?: string }) {
  const ANY = '__any__';
  const items = props.anyLabel ? [{ id: ANY, name: props.anyLabel }, ...props.options] : props.options;
  return (
    <SelectField
      compact
      label={props.label}
      value={props.value ?? (props.anyLabel ? ANY : null)}
      choices={items.map((item) => ({ id: item.id, label: item.name }))}
      onChange={(key) => props.onChange(key === ANY ? null : key)}
      placeholder={props.placeholder}
    />
  );
}
