// Generic building blocks of the console's object pages.
export { DataTable, type Column } from './DataTable.tsx';
export { ObjectDetails, objectDetails, QueryView } from './QueryView.tsx';
export { FormDialog, createOrEdit } from './FormDialog.tsx';
export { SecretOnce } from './SecretOnce.tsx';
export { Checklist, type Choice } from './Checklist.tsx';
export { LinesField, SelectField, lines } from './Fields.tsx';
export { ConfirmAction } from './ConfirmAction.tsx';
export { ObjectList, QueryTable } from './ObjectList.tsx';
export { SaveFooter } from './SaveFooter.tsx';
export { DeleteSection, FormSection } from './Sections.tsx';
export { HeldList } from './HeldList.tsx';
export { FormActions } from './FormActions.tsx';
export { ActionForm } from './ActionForm.tsx';
export { collection, objectPages, useDeleteObject, useObjectForm, useRefresh, useShowCreated, type Collection, type ListLabels, type ObjectOf, type ObjectPages, type PageLabels } from './Collection.ts';
