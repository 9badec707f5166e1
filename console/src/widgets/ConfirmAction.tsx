// A button that asks before it acts, named for its object when a page holds several (revoke this
// key, remove this member); the question says what will happen.
import type { ReactNode } from 'react';
import { Button, Dialog, DialogTrigger, Heading, Modal } from 'react-aria-components';
import { t } from '../i18n.ts';

export function ConfirmAction(props: { label: string; ariaLabel?: string; title: string; children: ReactNode; confirmLabel: string; onConfirm(): void; danger?: boolean; small?: boolean }) {
  const look = `button${props.danger ? ' danger' : ''}${props.small ? ' small' : ''}`;
  return (
    <DialogTrigger>
      <Button className={look} aria-label={props.ariaLabel}>
        {props.label}
      </Button>
      <Modal className="modal" isDismissable>
        <Dialog className="dialog" role="alertdialog">
          {({ close }) => (
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
        </Dialog>
      </Modal>
    </DialogTrigger>
  );
}
