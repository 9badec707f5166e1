// A group of checkboxes under a collapsible heading (permissions of one API resource, identity
// kinds, roles): read-only when the person may not change them.
import { Checkbox, CheckboxGroup, Label } from 'react-aria-components';
import { t } from '../i18n.ts';
import './widgets.css';

export interface Choice<K extends string = string> {
  id: K;
  label: string;
}

export function Checklist(props: { label: string; choices: Choice[]; selected: string[]; onChange?(selected: string[]): void; isReadOnly?: boolean; open?: boolean }) {
  const count = props.choices.filter((c) => props.selected.includes(c.id)).length;
  return (
    <details className="checklist" open={props.open}>
      <summary>{t('{group}: {count} of {total} chosen', { group: props.label, count, total: props.choices.length })}</summary>
      <CheckboxGroup value={props.selected} onChange={props.onChange} isReadOnly={props.isReadOnly}>
        <Label className="muted small">{props.label}</Label>
        <div className="options">
          {props.choices.map((choice) => (
            <Checkbox className="checkbox" key={choice.id} value={choice.id}>
              <span className="box" aria-hidden="true" />
              <span className="mono small">{choice.label}</span>
            </Checkbox>
          ))}
        </div>
      </CheckboxGroup>
    </details>
  );
}
