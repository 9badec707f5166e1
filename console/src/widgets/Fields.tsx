// Form fields beyond the single-line text field of ui.tsx: a multi-line list (one entry a line),
// a choice from a list (the console's one Select), and an object's name and description.
import type { Dispatch, ReactNode, SetStateAction } from 'react';
import { Button, Label, ListBox, ListBoxItem, Popover, Select, SelectValue, TextArea, TextField } from 'react-aria-components';
import { t } from '../i18n.ts';
import { Field } from '../ui.tsx';
import type { Choice } from './Checklist.tsx';
import './widgets.css';

/** Entries one per line, e.g. redirect URIs. */
export function LinesField(props: { label: string; name: string; value: string[]; onChange(value: string[]): void; isReadOnly?: boolean; description?: string }) {
  return (
    <TextField className="field" name={props.name} value={props.value.join('\n')} onChange={(text) => props.onChange(text.split('\n'))} isReadOnly={props.isReadOnly}>
      <Label>{props.label}</Label>
      <TextArea rows={Math.max(2, props.value.length + 1)} />
      {props.description && <span className="muted small">{props.description}</span>}
    </TextField>
  );
}

/** The non-empty trimmed entries of a LinesField. */
export function lines(value: string[]): string[] {
  return value.map((line) => line.trim()).filter(Boolean);
}

/** One of a list of choices; `compact` leaves the button as wide as its value (filters, settings). */
export function SelectField<K extends string = string>(props: { label: string; choices: Choice<K>[]; value: K | null; onChange(value: K): void; isDisabled?: boolean; placeholder?: string; compact?: boolean }) {
  return (
    <Select className={props.compact ? 'field' : 'field select-field'} selectedKey={props.value} onSelectionChange={(key) => key !== null && props.onChange(String(key) as K)} isDisabled={props.isDisabled} placeholder={props.placeholder}>
      <Label>{props.label}</Label>
      <Button className="button select">
        <SelectValue />
      </Button>
      <Popover>
        <ListBox className="listbox" items={props.choices}>
          {(choice) => <ListBoxItem id={choice.id}>{choice.label}</ListBoxItem>}
        </ListBox>
      </Popover>
    </Select>
  );
}

/** The label of the choice `id` names, or the id itself when no choice has it. */
export function choiceLabel<K extends string>(choices: Choice<K>[], id: K): string {
  return choices.find((choice) => choice.id === id)?.label ?? id;
}

/** A choice changed with a SelectField or, read-only, shown as a field holding the chosen label. */
export function ChoiceField<K extends string>(props: { label: string; name: string; choices: Choice<K>[]; value: K; onChange(value: K): void; isReadOnly?: boolean }) {
  if (props.isReadOnly) return <Field label={props.label} name={props.name} value={choiceLabel(props.choices, props.value)} onChange={() => {}} isReadOnly />;
  return <SelectField label={props.label} choices={props.choices} value={props.value} onChange={props.onChange} />;
}

/** An object's name (required) and description fields, with any fields that stand between them. */
export function NameFields<F extends { name: string; description: string }>(props: { form: F; setForm: Dispatch<SetStateAction<F>>; isReadOnly?: boolean; children?: ReactNode }) {
  const { form, setForm, isReadOnly } = props;
  return (
    <>
      <Field label={t('Name')} name="name" value={form.name} onChange={(name) => setForm((f) => ({ ...f, name }))} isReadOnly={isReadOnly} isRequired />
      {props.children}
      <Field label={t('Description')} name="description" value={form.description} onChange={(description) => setForm((f) => ({ ...f, description }))} isReadOnly={isReadOnly} />
    </>
  );
}
