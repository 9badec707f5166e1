// Form fields beyond the single-line text field of ui.tsx: a multi-line list (one entry a line)
// and a choice from a list (the console's one Select).
import { Button, Label, ListBox, ListBoxItem, Popover, Select, SelectValue, TextArea, TextField } from 'react-aria-components';
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
