// A labelled choice among a few options (React Aria Select), for the operations pages' filters.
import { Button, Label, ListBox, ListBoxItem, Popover, Select, SelectValue } from 'react-aria-components';

export interface ChoiceOption {
  id: string;
  label: string;
}

export function Choice(props: { label: string; value: string; options: ChoiceOption[]; onChange(value: string): void }) {
  return (
    <Select className="field" selectedKey={props.value} onSelectionChange={(key) => props.onChange(String(key))}>
      <Label>{props.label}</Label>
      <Button className="button select">
        <SelectValue />
      </Button>
      <Popover>
        <ListBox className="listbox" items={props.options}>
          {(option) => <ListBoxItem id={option.id}>{option.label}</ListBoxItem>}
        </ListBox>
      </Popover>
    </Select>
  );
}
