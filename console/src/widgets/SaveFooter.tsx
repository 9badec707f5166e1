// The actions row under a form or a section that stores a change: its save button (the form's
// submit button, or one that runs onPress) and, once the change is stored, a "Saved." status.
import { Button } from 'react-aria-components';
import { t } from '../i18n.ts';

export function SaveFooter(props: { save: { isPending: boolean; isSuccess: boolean }; label?: string; onPress?(): void }) {
  return (
    <div className="actions">
      <Button className="button primary" type={props.onPress ? 'button' : 'submit'} onPress={props.onPress} isPending={props.save.isPending}>
        {props.label ?? t('Save')}
      </Button>
      {props.save.isSuccess && <span role="status">{t('Saved.')}</span>}
    </div>
  );
}
