// A form that runs onSubmit instead of loading a page: a one-line form (className "inline-form"),
// the filters above a list (role "search"), a section's or a dialog's form.
import type { ReactNode } from 'react';

export function ActionForm(props: { className?: string; role?: 'search'; label?: string; onSubmit(): void; children: ReactNode }) {
  return (
    <form
      className={props.className}
      role={props.role}
      aria-label={props.label}
      onSubmit={(e) => {
        e.preventDefault();
        props.onSubmit();
      }}
    >
      {props.children}
    </form>
  );
}
