// Controls shared by the settings pages: a labelled checkbox, a group of checkboxes, and a
// read-only notice. Each is a React Aria component, labelled for screen readers.
import { Checkbox, CheckboxGroup, Label } from 'react-aria-components';
import { t } from '../../i18n.ts';
import { Field } from '../../ui.tsx';

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

/** A form's setter for one key: `set('minLength')` gives the field's onChange. */
export type FormSetter<F> = <K extends keyof F>(key: K) => (value: F[K]) => void;

/** Keys of a form whose values are of type V. */
type KeysOf<F, V> = { [K in keyof F]: F[K] extends V ? K : never }[keyof F] & string;

/** Keys of a form held by a text field or a checkbox. */
export type FieldKey<F> = KeysOf<F, string> | KeysOf<F, boolean>;

/** One text field per [form key, label]; the field's name is the key unless a third item gives it. */
export function TextFields<F>(props: { fields: readonly (readonly [KeysOf<F, string>, string, string?])[]; form: F; set: FormSetter<F>; isReadOnly: boolean }) {
  return (
    <>
      {props.fields.map(([key, label, name]) => (
        <Field key={key} label={label} name={name ?? key} value={props.form[key] as string} onChange={props.set(key) as (value: string) => void} isReadOnly={props.isReadOnly} />
      ))}
    </>
  );
}

/** One checkbox per [form key, label]. */
export function Checks<F>(props: { fields: readonly (readonly [KeysOf<F, boolean>, string])[]; form: F; set: FormSetter<F>; isReadOnly: boolean }) {
  return (
    <>
      {props.fields.map(([key, label]) => (
        <Check key={key} label={label} isSelected={props.form[key] as boolean} onChange={props.set(key) as (value: boolean) => void} isReadOnly={props.isReadOnly} />
      ))}
    </>
  );
}

/**
 * A card of a settings form: its heading, then one control per [form key, label] of `fields`: a grid
 * of text fields and, below them, a checkbox for each key whose value is a yes or no.
 */
export function FieldsCard<F>(props: { id: string; title: string; fields: readonly (readonly [FieldKey<F>, string])[]; form: F; set: FormSetter<F>; isReadOnly: boolean }) {
  const { form, set, isReadOnly } = props;
  const texts = props.fields.filter((field): field is readonly [KeysOf<F, string>, string] => typeof form[field[0]] !== 'boolean');
  const checks = props.fields.filter((field): field is readonly [KeysOf<F, boolean>, string] => typeof form[field[0]] === 'boolean');
  return (
    <section aria-labelledby={props.id} className="card">
      <h2 id={props.id}>{props.title}</h2>
      <div className="grid-form">
        <TextFields fields={texts} form={form} set={set} isReadOnly={isReadOnly} />
      </div>
      {checks.length > 0 && (
        <div className="actions">
          <Checks fields={checks} form={form} set={set} isReadOnly={isReadOnly} />
        </div>
      )}
    </section>
  );
}
