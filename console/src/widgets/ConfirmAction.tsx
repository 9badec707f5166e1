// The confirm button of the object pages: the console's one Confirm (ui.tsx).
export { Confirm as ConfirmAction } from '../ui.tsx';
