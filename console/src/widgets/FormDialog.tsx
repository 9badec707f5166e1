// A button that opens a dialog holding a form; submitting runs the change, shows a refusal in the
// dialog, and closes it on success.
import { useState, type ComponentType, type Dispatch, type ReactNode, type SetStateAction } from 'react';
import { useMutation } from '@tanstack/react-query';
import { Button, Heading } from 'react-aria-components';
import { t } from '../i18n.ts';
import { DialogButton } from '../ui.tsx';
import { ActionForm } from './ActionForm.tsx';
import { useShowCreated, type ObjectPages } from './Collection.ts';
import { FormActions } from './FormActions.tsx';
import './widgets.css';

export function FormDialog<R>(props: {
  label: string;
  title: string;
  submitLabel: string;
  /** Accessible name of the opening button, when the visible label alone is ambiguous. */
  ariaLabel?: string;
  /** The opening button: a primary one (the default), a small one in a table row, or a plain one among other actions. */
  look?: 'primary' | 'small' | 'plain';
  submit(): Promise<R>;
  onSuccess?(result: R): void;
  /** Called when the dialog opens, to reset its form. */
  onOpen?(): void;
  children: ReactNode;
}) {
  const change = useMutation({ mutationFn: props.submit, onSuccess: props.onSuccess });
  return (
    <DialogButton
      className="dialog widget-dialog"
      onOpenChange={(open) => {
        if (open) {
          change.reset();
          props.onOpen?.();
        }
      }}
      button={
        <Button className={{ primary: 'button primary', small: 'button small', plain: 'button' }[props.look ?? 'primary']} aria-label={props.ariaLabel}>
          {props.label}
        </Button>
      }
    >
      {(close) => (
        <ActionForm onSubmit={() => change.mutate(undefined, { onSuccess: close })}>
          <Heading slot="title">{props.title}</Heading>
          {props.children}
          <FormActions change={change} submitLabel={props.submitLabel} onCancel={close} />
        </ActionForm>
      )}
    </DialogButton>
  );
}

/**
 * The opening button and title of a dialog that creates an object (a primary button labelled and
 * titled `createLabel`) or, given the title of editing one, edits it (a small "Edit" button named
 * by that title, as in a table row).
 */
export function createOrEdit(createLabel: string, editTitle: string | undefined): Pick<Parameters<typeof FormDialog>[0], 'label' | 'ariaLabel' | 'title' | 'look'> {
  return editTitle === undefined ? { label: createLabel, title: createLabel, look: 'primary' } : { label: t('Edit'), ariaLabel: editTitle, title: editTitle, look: 'small' };
}

/** The fields of an object's form, as its create dialog and its page show them. */
export type FormFields<F> = ComponentType<{ form: F; setForm: Dispatch<SetStateAction<F>> }>;

/** What creating an object takes: the dialog's label, its form's blank values and fields, and the call that creates the object from the form. */
export interface CreateSpec<F> {
  label(): string;
  blank: F;
  fields: FormFields<F>;
  submit(form: F): Promise<{ id: string }>;
}

/**
 * The dialog that creates an object of a collection: a primary button, the dialog titled as it is
 * labelled, whose fields start from the blank form each time it opens; "Create" submits the form,
 * then the list is read again and the new object's page shown.
 */
export function CreateDialog<D, R, F>({ of, create }: { of: ObjectPages<D, R>; create: CreateSpec<F> }) {
  const showCreated = useShowCreated(of);
  const [form, setForm] = useState(create.blank);
  const label = create.label();
  return (
    <FormDialog label={label} title={label} submitLabel={t('Create')} onOpen={() => setForm(create.blank)} submit={() => create.submit(form)} onSuccess={(created) => showCreated(created.id)}>
      <create.fields form={form} setForm={setForm} />
    </FormDialog>
  );
}
