// Generic building blocks of the console's object pages.
export { DataTable, type Column } from './DataTable.tsx';
export { ObjectDetails, objectDetails, QueryView } from './QueryView.tsx';
export { CreateDialog, FormDialog, createOrEdit } from './FormDialog.tsx';
export { SecretOnce } from './SecretOnce.tsx';
export { Checklist, type Choice } from './Checklist.tsx';
export { ChoiceField, LinesField, NameFields, SelectField, choiceLabel, lines } from './Fields.tsx';
export { ConfirmAction } from './ConfirmAction.tsx';
export { CollectionTable, ObjectList, objectList } from './ObjectList.tsx';
export { SaveFooter } from './SaveFooter.tsx';
export { DeleteSection, FormSection } from './Sections.tsx';
export { HeldList } from './HeldList.tsx';
export { FormActions } from './FormActions.tsx';
export { ActionForm } from './ActionForm.tsx';
export { collection, objectPages, useDeleteObject, useObjectForm, useRefresh, useShowCreated, type Collection, type ListLabels, type ObjectOf, type ObjectPages, type ObjectPagesSource, type PageLabels } from './Collection.ts';
export { useChange } from './useChange.ts';
