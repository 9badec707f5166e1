// A button that opens a dialog holding a form; submitting runs the change, shows a refusal in the
// dialog, and closes it on success.
import type { ReactNode } from 'react';
import { useMutation } from '@tanstack/react-query';
import { Button, Heading } from 'react-aria-components';
import { t } from '../i18n.ts';
import { DialogButton } from '../ui.tsx';
import { ActionForm } from './ActionForm.tsx';
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
