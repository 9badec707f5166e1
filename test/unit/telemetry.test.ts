// The operator-facing names stay in step: every gatehouse_* metric the README lists and the
// sample Grafana dashboard queries is one Gatehouse registers; the settings parse as documented.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/index.ts';
import { enableMetrics } from '../../src/telemetry/metrics.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('metrics names and settings', () => {
  const registered = () =>
    new Set(
      enableMetrics()
        .getMetricsAsArray()
        .map((metric) => metric.name),
    );

  it('the operator guide lists exactly the gatehouse_* metrics that are registered', async () => {
    const readme = await readFile(`${ROOT}docs/operator-guide.md`, 'utf8');
    const listed = new Set([...readme.matchAll(/^\| `(gatehouse_\w+)` \|/gm)].map((m) => m[1]!));
    const names = [...registered()].filter((name) => name.startsWith('gatehouse_'));
    assert.deepEqual([...listed].sort(), names.sort());
  });

  it('the Grafana dashboard queries only registered metrics', async () => {
    const dashboard = await readFile(`${ROOT}docs/grafana-dashboard.json`, 'utf8');
    JSON.parse(dashboard);
    const names = registered();
    const used = new Set([...dashboard.matchAll(/\b(gatehouse_\w+|process_\w+|nodejs_\w+)/g)].map((m) => m[1]!.replace(/_(bucket|count|sum)$/, '')));
    assert.ok(used.size >= 10);
    for (const name of used) assert.ok(names.has(name), `the dashboard queries ${name}, which is not registered`);
  });

  it('metrics are off by default and bind to loopback when a port is set', () => {
    assert.equal(loadConfig({}).metrics, undefined);
    assert.deepEqual(loadConfig({ GATEHOUSE_METRICS_PORT: '9464' }).metrics, { port: 9464, host: '127.0.0.1' });
  });

  it('tracing is off by default and follows the OTLP endpoint variables', () => {
    assert.equal(loadConfig({}).tracing, undefined);
    assert.deepEqual(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/' }).tracing, { tracesEndpoint: 'http://127.0.0.1:4318/v1/traces', serviceName: 'gatehouse' });
    assert.deepEqual(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/traces', OTEL_SERVICE_NAME: 'idp' }).tracing, { tracesEndpoint: 'http://b:4318/traces', serviceName: 'idp' });
  });

  it('shutdown settings default to no delay and a 15 s bound', () => {
    const config = loadConfig({});
    assert.deepEqual([config.shutdownDelaySeconds, config.shutdownTimeoutSeconds], [0, 15]);
  });
});
