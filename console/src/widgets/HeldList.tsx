// What an object holds (roles, groups, data scopes) as a plain list: each entry's name with a
// small "Remove" button named for it, shown to whoever may remove it, or a line when it holds none.
import type { ReactNode } from 'react';
import { Button } from 'react-aria-components';
import { t } from '../i18n.ts';

export function HeldList<T extends { id: string; name: ReactNode }>(props: { items: T[]; removeLabel(item: T): string; onRemove?(item: T): void; empty: string }) {
  const { onRemove } = props;
  return (
    <ul className="plain">
      {props.items.map((item) => (
        <li key={item.id}>
          {item.name}{' '}
          {onRemove && (
            <Button className="button small" aria-label={props.removeLabel(item)} onPress={() => onRemove(item)}>
              {t('Remove')}
            </Button>
          )}
        </li>
      ))}
      {props.items.length === 0 && <li className="muted">{props.empty}</li>}
    </ul>
  );
}
