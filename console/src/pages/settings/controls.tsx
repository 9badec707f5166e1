// Controls shared by the settings pages: a labelled checkbox, a group of checkboxes, and a
// read-only notice. Each is a React Aria component, labelled for screen readers.
import { Checkbox, CheckboxGroup, Label } from 'react-aria-components';
import { t } from '../../i18n.ts';

export function Check(props: { label: string; isSelected: boolean; onChange(value: boolean): void; isReadOnly?: boolean; name?: string }) {
  return (
    <Checkbox className="checkbox" name={props.name} isSelected={props.isSelected} onChange={props.onChange} isReadOnly={props.isReadOnly}>
      <span className="box" aria-hidden="true" />
      &nbsp;{props.label}
    </Checkbox>
  );
}

/** A labelled group of checkboxes, one per option; `value` is the chosen option ids. */
export function Choices(props: { label: string; options: { id: string; label: string }[]; value: string[]; onChange(value: string[]): void; isReadOnly?: boolean; empty?: string }) {
  return (
    <CheckboxGroup className="field" value={props.value} onChange={props.onChange} isReadOnly={props.isReadOnly}>
      <Label>{props.label}</Label>
      {props.options.length === 0 && <span className="muted">{props.empty ?? t('None to choose from.')}</span>}
      {props.options.map((option) => (
        <Checkbox key={option.id} className="checkbox" value={option.id}>
          <span className="box" aria-hidden="true" />
          &nbsp;{option.label}
        </Checkbox>
      ))}
    </CheckboxGroup>
  );
}

/** Said at the top of a page the person may read but not change. */
export function ReadOnlyNotice({ show }: { show: boolean }) {
  if (!show) return null;
  return <p className="muted">{t('You may read these settings but not change them.')}</p>;
}

/** A whole number from a text field, or undefined when it is not one. */
export function wholeNumber(text: string): number | undefined {
  return /^\s*-?\d+\s*$/.test(text) ? Number(text) : undefined;
}
