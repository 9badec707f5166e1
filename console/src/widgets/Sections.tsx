// The sections an object's page is made of: a form that stores a change (read-only for whoever
// may not change it), and deleting the object after a question.
import type { ReactNode } from 'react';
import { t } from '../i18n.ts';
import { useCan } from '../permissions.tsx';
import { ErrorMessage } from '../ui.tsx';
import { ActionForm } from './ActionForm.tsx';
import { useDeleteObject, type ObjectPages } from './Collection.ts';
import { ConfirmAction } from './ConfirmAction.tsx';
import { SaveFooter } from './SaveFooter.tsx';

interface Change {
  mutate(): void;
  isPending: boolean;
  isSuccess: boolean;
  error: unknown;
}

/** A section holding one form: its fields, a save button when it is editable, and a refusal. */
export function FormSection(props: { id: string; title: string; save: Change; editable: boolean; children: ReactNode }) {
  return (
    <section aria-labelledby={props.id}>
      <h2 id={props.id}>{props.title}</h2>
      <ActionForm className="grid-form" onSubmit={() => props.save.mutate()}>
        {props.children}
        {props.editable && <SaveFooter save={props.save} />}
      </ActionForm>
      <ErrorMessage error={props.save.error} />
    </section>
  );
}

/**
 * The "Delete" section of the page of the object `objectId` names, shown to whoever holds `permission`:
 * a button (labelled `label`, as is the confirmation) that asks `title` first, then deletes the object
 * and shows the list again; children say what follows.
 */
export function DeleteSection<D, R>(props: { of: ObjectPages<D, R>; objectId: string; permission: string; id: string; label: string; title: string; children: ReactNode }) {
  const can = useCan();
  const remove = useDeleteObject(props.of, props.objectId);
  if (!can(props.permission)) return null;
  return (
    <section aria-labelledby={props.id}>
      <h2 id={props.id}>{t('Delete')}</h2>
      <ConfirmAction label={props.label} title={props.title} confirmLabel={props.label} danger onConfirm={() => remove.mutate()}>
        {props.children}
      </ConfirmAction>
      <ErrorMessage error={remove.error} />
    </section>
  );
}
