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
 * The "Delete" section of an object's page, shown to whoever holds the collection's permission to
 * delete: a button that asks first, as the collection's `deletion` says, then deletes the object and
 * shows the list again.
 */
export function DeleteSection<D, R>({ of, object }: { of: ObjectPages<D, R>; object: R }) {
  const can = useCan();
  const remove = useDeleteObject(of, of.id(object));
  if (!can(of.permissions.delete)) return null;
  const { id, label } = of.deletion;
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{t('Delete')}</h2>
      <ConfirmAction label={label()} title={of.deletion.title(object)} confirmLabel={label()} danger onConfirm={() => remove.mutate()}>
        {of.deletion.note()}
      </ConfirmAction>
      <ErrorMessage error={remove.error} />
    </section>
  );
}
