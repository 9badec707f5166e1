// The end of a form that creates something: the refusal, if any, then "Cancel" and the submit button.
import { Button } from 'react-aria-components';
import { t } from '../i18n.ts';
import { ErrorMessage } from '../ui.tsx';

export function FormActions(props: { change: { error: unknown; isPending: boolean }; submitLabel: string; onCancel(): void }) {
  return (
    <>
      <ErrorMessage error={props.change.error} />
      <div className="actions">
        <Button className="button" onPress={props.onCancel}>
          {t('Cancel')}
        </Button>
        <Button className="button primary" type="submit" isPending={props.change.isPending}>
          {props.submitLabel}
        </Button>
      </div>
    </>
  );
}
