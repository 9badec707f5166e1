// CSV import (a dry run first, with the per-row report, then the import) and the export of the
// current filter as a CSV download.
import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Button, FileTrigger, Heading, ProgressBar } from 'react-aria-components';
import { api, ApiError } from '../../api/client.ts';
import { formatNumber, t } from '../../i18n.ts';
import { DialogButton, ErrorMessage } from '../../ui.tsx';
import { DataTable } from '../../widgets/index.ts';
import { Choice } from './pickers.tsx';

type Mode = 'all-or-nothing' | 'per-row';

interface ImportReport {
  dryRun: boolean;
  rows: number;
  created: number;
  existing: { line: number; username: string }[];
  refused: number;
  problems: { line: number; column: string | null; reason: string }[];
  committed: boolean;
}

async function sendImport(csv: string, mode: Mode, dryRun: boolean): Promise<ImportReport> {
  const { data, error, response } = await api.POST('/api/v1/users/import', {
    params: { query: { mode, dryRun: dryRun ? 'true' : 'false' } },
    body: csv,
    bodySerializer: (body: string) => body,
    headers: { 'content-type': 'text/csv' },
  });
  // 422: done, with refused rows listed in the report.
  if (response.status === 422) return error as unknown as ImportReport;
  if (!response.ok || !data) {
    const problem = (error ?? {}) as { title?: string; code?: string };
    throw new ApiError(response.status, problem.code ?? 'error', problem.title ?? t('The request failed ({status}).', { status: response.status }));
  }
  return data;
}

function Report({ report }: { report: ImportReport }) {
  return (
    <div aria-label={report.dryRun ? t('Check report') : t('Import report')} role="region">
      <p role="status">
        {report.dryRun
          ? t('Checked {rows} rows: {created} would be created, {existing} already exist, {refused} refused.', { rows: report.rows, created: report.created, existing: report.existing.length, refused: report.refused })
          : report.committed
            ? t('Imported: {created} users created, {existing} already existed, {refused} rows refused.', { created: report.created, existing: report.existing.length, refused: report.refused })
            : t('Nothing was imported: {refused} rows were refused.', { refused: report.refused })}
      </p>
      {report.problems.length > 0 && (
        <DataTable
          caption={t('Refused rows')}
          showCaption
          rows={report.problems.map((problem, i) => ({ ...problem, key: `${problem.line}-${i}` }))}
          rowKey={(p) => p.key}
          columns={[
            { key: 'line', header: t('Line'), cell: (p) => p.line },
            { key: 'column', header: t('Column'), className: 'mono', cell: (p) => p.column ?? '—' },
            { key: 'reason', header: t('Reason'), cell: (p) => p.reason },
          ]}
        />
      )}
      {report.existing.length > 0 && <p className="small muted">{t('Left as they are (the username exists): {names}', { names: report.existing.map((e) => e.username).join(', ') })}</p>}
    </div>
  );
}

export function ImportUsers() {
  const queryClient = useQueryClient();
  const [file, setFile] = useState<{ name: string; text: string } | null>(null);
  const [mode, setMode] = useState<Mode>('per-row');
  const [report, setReport] = useState<ImportReport | null>(null);
  const check = useMutation({ mutationFn: () => sendImport(file!.text, mode, true), onSuccess: setReport });
  const run = useMutation({
    mutationFn: () => sendImport(file!.text, mode, false),
    onSuccess: (r) => {
      setReport(r);
      void queryClient.invalidateQueries({ queryKey: ['user-maintenance'] });
    },
  });
  const reset = () => {
    setFile(null);
    setReport(null);
    check.reset();
    run.reset();
  };
  const lines = file ? Math.max(0, file.text.split(/\r?\n/).filter((l) => l.trim()).length - 1) : 0;
  return (
    <DialogButton onOpenChange={(open) => !open && reset()} button={<Button className="button">{t('Import CSV')}</Button>}>
      {(close) => (
        <>
          <Heading slot="title">{t('Import users from CSV')}</Heading>
          <p className="small muted">
            {t('A header line first. Columns: username, email, name, phone, department, identity_kind, identity_alias, roles, groups, data_scope, password_hash. Lists are separated by ";", data scopes written as key=value1,value2.')}
          </p>
          <div className="actions">
            <FileTrigger
              acceptedFileTypes={['text/csv', '.csv']}
              onSelect={(files) => {
                const chosen = files?.[0];
                if (!chosen) return;
                setReport(null);
                void chosen.text().then((text) => setFile({ name: chosen.name, text }));
              }}
            >
              <Button className="button">{t('Choose a CSV file')}</Button>
            </FileTrigger>
            {file && <span>{t('{name}: {rows} rows', { name: file.name, rows: formatNumber(lines) })}</span>}
          </div>
          <Choice
            label={t('When a row is refused')}
            value={mode}
            onChange={(v) => {
              setMode((v ?? 'per-row') as Mode);
              setReport(null);
            }}
            options={[
              { id: 'per-row', name: t('import the other rows') },
              { id: 'all-or-nothing', name: t('import nothing') },
            ]}
          />
          {(check.isPending || run.isPending) && (
            <ProgressBar isIndeterminate aria-label={check.isPending ? t('Checking the file') : t('Importing')}>
              <span>{check.isPending ? t('Checking {rows} rows…', { rows: formatNumber(lines) }) : t('Importing {rows} rows…', { rows: formatNumber(lines) })}</span>
            </ProgressBar>
          )}
          <ErrorMessage error={check.error ?? run.error} />
          {report && <Report report={report} />}
          <div className="actions">
            <Button className="button" onPress={close}>
              {t('Close')}
            </Button>
            <Button className="button" isDisabled={!file || check.isPending || run.isPending} onPress={() => check.mutate()}>
              {t('Check (dry run)')}
            </Button>
            <Button className="button primary" isDisabled={!report?.dryRun || report.created === 0 || run.isPending} onPress={() => run.mutate()}>
              {t('Import')}
            </Button>
          </div>
        </>
      )}
    </DialogButton>
  );
}

/** Downloads the users of the filter as CSV (the API needs the bearer token, so not a plain link). */
export function ExportUsers({ filter }: { filter: { q?: string; status?: 'active' | 'inactive' | 'locked'; identityKind?: string; group?: string; role?: string } }) {
  const download = useMutation({
    mutationFn: async () => {
      const { data, error, response } = await api.GET('/api/v1/user-maintenance/export', { params: { query: filter }, parseAs: 'blob' });
      if (!response.ok || !data) {
        const problem = (error ?? {}) as { title?: string; code?: string };
        throw new ApiError(response.status, problem.code ?? 'error', problem.title ?? t('The request failed ({status}).', { status: response.status }));
      }
      const name = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? 'users.csv';
      const url = URL.createObjectURL(data as Blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = name;
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    },
  });
  return (
    <>
      <Button className="button" onPress={() => download.mutate()} isPending={download.isPending}>
        {t('Export CSV')}
      </Button>
      <ErrorMessage error={download.error} />
    </>
  );
}
