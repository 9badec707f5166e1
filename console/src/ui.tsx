// Small compositions of React Aria Components used across the pages.
import type { ReactNode } from 'react';
import { Button, Dialog, DialogTrigger, Heading, Input, Label, Modal, TextField } from 'react-aria-components';
import { ApiError } from './api/client.ts';
import { formatDateTime, t } from './i18n.ts';

export function Field(props: { label: string; name: string; value: string; onChange(value: string): void; type?: string; isReadOnly?: boolean; isRequired?: boolean; description?: string }) {
  return (
    <TextField className="field" name={props.name} value={props.value} onChange={props.onChange} type={props.type ?? 'text'} isReadOnly={props.isReadOnly} isRequired={props.isRequired}>
      <Label>{props.label}</Label>
      <Input />
    </TextField>
  );
}

/** A button that opens a modal dialog (dismissed by Escape or a click outside); the dialog's content gets the function that closes it. */
export function DialogButton(props: { button: ReactNode; className?: string; role?: 'dialog' | 'alertdialog'; onOpenChange?(open: boolean): void; children(close: () => void): ReactNode }) {
  return (
    <DialogTrigger onOpenChange={props.onOpenChange}>
      {props.button}
      <Modal className="modal" isDismissable>
        <Dialog className={props.className ?? 'dialog'} role={props.role}>
          {({ close }) => props.children(close)}
        </Dialog>
      </Modal>
    </DialogTrigger>
  );
}

/** A button that asks before it acts (named for its object when a page holds several); the question says what will happen. */
export function Confirm(props: { label: string; ariaLabel?: string; title: string; children: ReactNode; confirmLabel: string; onConfirm(): void; danger?: boolean; small?: boolean; isDisabled?: boolean }) {
  const look = `button${props.danger ? ' danger' : ''}${props.small ? ' small' : ''}`;
  return (
    <DialogButton
      role="alertdialog"
      button={
        <Button className={look} aria-label={props.ariaLabel} isDisabled={props.isDisabled}>
          {props.label}
        </Button>
      }
    >
      {(close) => (
        <>
          <Heading slot="title">{props.title}</Heading>
          <div>{props.children}</div>
          <div className="actions">
            <Button className="button" onPress={close}>
              {t('Cancel')}
            </Button>
            <Button
              className={props.danger ? 'button danger' : 'button primary'}
              onPress={() => {
                props.onConfirm();
                close();
              }}
            >
              {props.confirmLabel}
            </Button>
          </div>
        </>
      )}
    </DialogButton>
  );
}

export function ErrorMessage({ error }: { error: unknown }) {
  if (!error) return null;
  const message = error instanceof ApiError ? (error.status === 403 ? t('Not allowed: {reason}', { reason: error.message }) : error.message) : (error as Error).message;
  return (
    <p className="error" role="alert">
      {message}
    </p>
  );
}

export function Loading() {
  return (
    <p className="muted" role="status">
      {t('Loading…')}
    </p>
  );
}

export function formatDate(value: string | null | undefined): string {
  return value ? formatDateTime(value) : '—';
}
