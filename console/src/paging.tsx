// Keyset paging for the console's lists: the API returns an opaque nextCursor, and the console
// keeps the cursors of the pages seen so far, so "Previous page" needs no backward paging. Filters
// above a list are edited as a draft and take effect, from the first page, when applied.
import { useState, type ReactNode } from 'react';
import { Button } from 'react-aria-components';
import { t } from './i18n.ts';
import { ActionForm } from './widgets/ActionForm.tsx';

export interface CursorPages {
  /** The cursor of the page shown (undefined: the first page). */
  cursor: string | undefined;
  /** 1 for the first page. */
  page: number;
  next(cursor: string): void;
  previous(): void;
  /** Back to the first page (when the filters change). */
  reset(): void;
}

export function useCursorPages(): CursorPages {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  return {
    cursor: cursors[cursors.length - 1],
    page: cursors.length,
    next: (cursor) => setCursors((c) => [...c, cursor]),
    previous: () => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c)),
    reset: () => setCursors([undefined]),
  };
}

/** The footer under a paged list: previous, the page number, next. `label` names the list's pages. */
export function PagingFooter({ pages, nextCursor, label }: { pages: CursorPages; nextCursor: string | null | undefined; label: string }) {
  return (
    <nav className="pager" aria-label={label}>
      <Button className="button" isDisabled={pages.page === 1} onPress={pages.previous}>
        {t('Previous page')}
      </Button>
      <span className="pager-page">{t('Page {page}', { page: pages.page })}</span>
      <Button className="button" isDisabled={!nextCursor} onPress={() => nextCursor && pages.next(nextCursor)}>
        {t('Next page')}
      </Button>
    </nav>
  );
}

/** A paged list's filters: the draft the form edits and the filters in force; applying or clearing them goes back to the first page. */
export function useFilteredPages<F>(none: F) {
  const pages = useCursorPages();
  const [draft, setDraft] = useState<F>(none);
  const [filters, setFilters] = useState<F>(none);
  return {
    pages,
    draft,
    setDraft,
    filters,
    apply() {
      setFilters(draft);
      pages.reset();
    },
    clear() {
      setDraft(none);
      setFilters(none);
      pages.reset();
    },
  };
}

/** The filter form above a paged list: its fields, the button that applies them and the one that clears them. */
export function FilterForm(props: { label: string; submitLabel: string; onApply(): void; onClear(): void; children: ReactNode }) {
  return (
    <ActionForm className="filters" role="search" label={props.label} onSubmit={props.onApply}>
      {props.children}
      <Button type="submit" className="button primary">
        {props.submitLabel}
      </Button>
      <Button className="button" onPress={props.onClear}>
        {t('Clear filters')}
      </Button>
    </ActionForm>
  );
}
