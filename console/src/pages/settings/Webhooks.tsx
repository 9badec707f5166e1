// Webhook endpoints: the list, subscribing an endpoint (its signing secret shown once), changing,
// disabling and deleting one, and each endpoint's recent deliveries with their status and a
// replay. Subscribing and changing where events go is for an Admin only (the API refuses anyone
// else), so those controls show only to an Admin holding the permission.
import { useEffect, useState } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Button } from 'react-aria-components';
import { api, unwrap } from '../../api/client.ts';
import type { operations } from '../../api/schema';
import { t } from '../../i18n.ts';
import { useMe } from '../../permissions.tsx';
import { Confirm, ErrorMessage, Field, Loading, formatDate } from '../../ui.tsx';
import { DataTable, FormDialog, useChange } from '../../widgets/index.ts';
import { ReadOnlyNotice } from './controls.tsx';

type Endpoint = operations['getApiV1Webhooks']['responses'][200]['content']['application/json']['items'][number];

const eventList = (text: string) =>
  text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);

export function WebhooksPage() {
  const { me, can } = useMe();
  const isAdmin = me.roles.includes('Admin');
  const endpoints = useQuery({ queryKey: ['webhooks'], queryFn: () => unwrap(api.GET('/api/v1/webhooks')) });
  const [secret, setSecret] = useState<{ url: string; secret: string } | undefined>();
  const mayCreate = isAdmin && can('webhooks:create');
  const mayUpdate = isAdmin && can('webhooks:update');
  return (
    <>
      <h1>{t('Webhooks')}</h1>
      <ReadOnlyNotice show={!mayCreate && !mayUpdate && !can('webhooks:delete')} />
      {mayCreate && <CreateWebhook onCreated={setSecret} />}
      {secret && (
        <section className="card" aria-labelledby="new-secret">
          <h2 id="new-secret">{t('Signing secret for {url}', { url: secret.url })}</h2>
          <p>{t("Store this secret now: it is shown only once. Receivers check each delivery's webhook-signature with it.")}</p>
          <p className="mono" data-testid="webhook-secret">
            {secret.secret}
          </p>
          <Button className="button" onPress={() => setSecret(undefined)}>
            {t('I have stored the secret')}
          </Button>
        </section>
      )}
      <ErrorMessage error={endpoints.error} />
      {endpoints.isPending ? (
        <Loading />
      ) : (
        endpoints.data && (endpoints.data.items.length === 0 ? <p>{t('No endpoint is subscribed.')}</p> : endpoints.data.items.map((endpoint) => <EndpointCard key={endpoint.id} endpoint={endpoint} mayUpdate={mayUpdate} />))
      )}
    </>
  );
}

function CreateWebhook({ onCreated }: { onCreated(value: { url: string; secret: string }): void }) {
  const queryClient = useQueryClient();
  const [form, setForm] = useState({ url: '', description: '', eventTypes: 'user.*' });
  return (
    <FormDialog
      label={t('Subscribe an endpoint')}
      title={t('Subscribe an endpoint')}
      submitLabel={t('Subscribe')}
      submit={() => unwrap(api.POST('/api/v1/webhooks', { body: { url: form.url, eventTypes: eventList(form.eventTypes), ...(form.description ? { description: form.description } : {}) } }))}
      onSuccess={(created) => {
        onCreated({ url: created.url, secret: created.secret });
        setForm({ url: '', description: '', eventTypes: 'user.*' });
        void queryClient.invalidateQueries({ queryKey: ['webhooks'] });
      }}
    >
      <Field label={t('Endpoint URL')} name="url" type="url" value={form.url} onChange={(url) => setForm((f) => ({ ...f, url }))} isRequired />
      <Field label={t('Description')} name="description" value={form.description} onChange={(description) => setForm((f) => ({ ...f, description }))} />
      <Field label={t('Event types (comma-separated; user.* for a prefix, * for all)')} name="eventTypes" value={form.eventTypes} onChange={(eventTypes) => setForm((f) => ({ ...f, eventTypes }))} isRequired />
    </FormDialog>
  );
}

function EndpointCard({ endpoint, mayUpdate }: { endpoint: Endpoint; mayUpdate: boolean }) {
  const { can } = useMe();
  const [form, setForm] = useState({ url: endpoint.url, description: endpoint.description ?? '', eventTypes: endpoint.eventTypes.join(', ') });
  useEffect(() => setForm({ url: endpoint.url, description: endpoint.description ?? '', eventTypes: endpoint.eventTypes.join(', ') }), [endpoint]);
  const [showDeliveries, setShowDeliveries] = useState(false);
  const update = useChange((body: { url?: string; description?: string | null; eventTypes?: string[]; enabled?: boolean }) => unwrap(api.PATCH('/api/v1/webhooks/{id}', { params: { path: { id: endpoint.id } }, body })), { reads: [['webhooks']] });
  const remove = useChange(() => unwrap(api.DELETE('/api/v1/webhooks/{id}', { params: { path: { id: endpoint.id } } })), { reads: [['webhooks']] });
  return (
    <article className="card" aria-label={t('Endpoint {url}', { url: endpoint.url })}>
      <div className="title-row">
        <h2 className="mono">{endpoint.url}</h2>
        <span className={`badge ${endpoint.status === 'active' ? 'active' : 'inactive'}`}>{endpoint.status === 'active' ? t('active') : t('disabled')}</span>
      </div>
      {endpoint.disabledReason && <p className="error">{endpoint.disabledReason}</p>}
      <form
        className="grid-form"
        aria-label={t('Settings of {url}', { url: endpoint.url })}
        onSubmit={(e) => {
          e.preventDefault();
          update.mutate({ url: form.url, description: form.description || null, eventTypes: eventList(form.eventTypes) });
        }}
      >
        <Field label={t('Endpoint URL')} name="url" value={form.url} onChange={(url) => setForm((f) => ({ ...f, url }))} isReadOnly={!mayUpdate} />
        <Field label={t('Description')} name="description" value={form.description} onChange={(description) => setForm((f) => ({ ...f, description }))} isReadOnly={!mayUpdate} />
        <Field label={t('Event types')} name="eventTypes" value={form.eventTypes} onChange={(eventTypes) => setForm((f) => ({ ...f, eventTypes }))} isReadOnly={!mayUpdate} />
        {mayUpdate && (
          <div className="actions">
            <Button className="button primary" type="submit" isPending={update.isPending}>
              {t('Save')}
            </Button>
          </div>
        )}
      </form>
      <p className="muted small">{t('Failed attempts in a row: {count}. Created {created}.', { count: endpoint.consecutiveFailures, created: formatDate(endpoint.createdAt) })}</p>
      <ErrorMessage error={update.error ?? remove.error} />
      <div className="actions">
        {mayUpdate && (
          <Button className="button" onPress={() => update.mutate({ enabled: endpoint.status !== 'active' })}>
            {endpoint.status === 'active' ? t('Disable') : t('Enable')}
          </Button>
        )}
        {can('webhooks:delete') && (
          <Confirm label={t('Delete')} title={t('Delete the endpoint {url}', { url: endpoint.url })} confirmLabel={t('Delete')} danger onConfirm={() => remove.mutate()}>
            {t('The endpoint and its delivery log are deleted; it receives no further events.')}
          </Confirm>
        )}
        {can('webhook-deliveries:list') && (
          <Button className="button" aria-expanded={showDeliveries} onPress={() => setShowDeliveries((s) => !s)}>
            {showDeliveries ? t('Hide deliveries') : t('Show deliveries')}
          </Button>
        )}
      </div>
      {showDeliveries && <Deliveries endpointId={endpoint.id} />}
    </article>
  );
}

function Deliveries({ endpointId }: { endpointId: string }) {
  const { can } = useMe();
  const deliveries = useQuery({ queryKey: ['webhook-deliveries', endpointId], queryFn: () => unwrap(api.GET('/api/v1/webhooks/{id}/deliveries', { params: { path: { id: endpointId } } })) });
  const replay = useChange((deliveryId: string) => unwrap(api.POST('/api/v1/webhooks/{id}/deliveries/{deliveryId}/replay', { params: { path: { id: endpointId, deliveryId } } })), { reads: [['webhook-deliveries', endpointId]] });
  const status = { pending: t('pending'), succeeded: t('succeeded'), failed: t('failed') } as const;
  if (deliveries.isPending) return <Loading />;
  if (deliveries.error) return <ErrorMessage error={deliveries.error} />;
  if (deliveries.data.items.length === 0) return <p>{t('No delivery yet.')}</p>;
  return (
    <>
      <ErrorMessage error={replay.error} />
      {replay.isSuccess && <p role="status">{t('The delivery is sent again on the next run of the delivery job.')}</p>}
      <DataTable
        caption={t('Recent deliveries')}
        rows={deliveries.data.items}
        rowKey={(d) => d.id}
        columns={[
          { key: 'event', header: t('Event'), className: 'mono small', cell: (d) => d.eventType },
          { key: 'status', header: t('Status'), cell: (d) => status[d.status] },
          { key: 'attempts', header: t('Attempts'), cell: (d) => d.attempts },
          { key: 'answer', header: t('Last answer'), className: 'small', cell: (d) => d.lastStatusCode ?? d.lastError ?? '—' },
          { key: 'attempt', header: t('Last attempt'), cell: (d) => formatDate(d.lastAttemptAt) },
          {
            key: 'retry',
            shown: can('webhook-deliveries:replay'),
            header: t('Retry'),
            cell: (d) => (
              <Button className="button small" aria-label={t('Send {event} again', { event: d.eventType })} isPending={replay.isPending && replay.variables === d.id} onPress={() => replay.mutate(d.id)}>
                {t('Send again')}
              </Button>
            ),
          },
        ]}
      />
    </>
  );
}
