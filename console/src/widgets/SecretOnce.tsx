// A secret Gatehouse shows exactly once (a client secret, an access key): read-only, selectable,
// with a warning, until the person says they have stored it.
import { Button } from 'react-aria-components';
import { t } from '../i18n.ts';
import { Field } from '../ui.tsx';
import './widgets.css';

export function SecretOnce(props: { title: string; label: string; value: string; details?: string; onDismiss(): void }) {
  return (
    <section className="secret-once" aria-label={props.title}>
      <h2>{props.title}</h2>
      <p role="alert">{t('Store it now: Gatehouse does not show it again.')}</p>
      {props.details && <p>{props.details}</p>}
      <Field label={props.label} name="secret" value={props.value} onChange={() => {}} isReadOnly />
      <div className="actions">
        <Button className="button" onPress={props.onDismiss}>
          {t('I have stored it')}
        </Button>
      </div>
    </section>
  );
}
