// OpenTelemetry tracing, off unless an OTLP endpoint is configured (or a test passes its own
// exporter). Spans: one per HTTP request (continuing a W3C traceparent), one per database query,
// one per key-value store (Redis) operation, nested by the request's async context. The SDK and the
// OTLP exporter are loaded when tracing is enabled, not by every process (several MB of memory).
import { AsyncLocalStorage } from 'node:async_hooks';
import { context, propagation, trace, ROOT_CONTEXT, type Context, type ContextManager, type Tracer } from '@opentelemetry/api';
import type { BasicTracerProvider, SpanExporter } from '@opentelemetry/sdk-trace-base';

/** The active context follows async calls through AsyncLocalStorage. */
class AsyncLocalContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();

  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.storage.run(ctx, () => fn.apply(thisArg, args));
  }

  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const inContext = <R>(fn: () => R): R => this.with(ctx, fn);
    return function (this: unknown, ...args: unknown[]) {
      return inContext(() => (target as (...a: unknown[]) => unknown).apply(this, args));
    } as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.storage.disable();
    return this;
  }
}

let tracer: Tracer | undefined;
let provider: BasicTracerProvider | undefined;

export interface TracingOptions {
  serviceName: string;
  /** OTLP/HTTP traces URL, e.g. http://collector:4318/v1/traces. */
  tracesEndpoint?: string;
  /** Instead of OTLP (tests): spans are handed over one by one as they end. */
  exporter?: SpanExporter;
}

let enabling: Promise<void> | undefined;

/** Starts tracing for this process (once). */
export function enableTracing(options: TracingOptions): Promise<void> {
  enabling ??= start(options).finally(() => {
    enabling = undefined;
  });
  return enabling;
}

async function start(options: TracingOptions): Promise<void> {
  if (provider) return;
  const [{ W3CTraceContextPropagator }, { resourceFromAttributes }, { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor }] = await Promise.all([
    import('@opentelemetry/core'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace-base'),
  ]);
  const exporter = options.exporter ?? new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter({ url: options.tracesEndpoint });
  provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    spanProcessors: [options.exporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter)],
  });
  context.setGlobalContextManager(new AsyncLocalContextManager());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  tracer = trace.getTracer('gatehouse');
}

/** The tracer, or undefined while tracing is off (callers then skip span work entirely). */
export function activeTracer(): Tracer | undefined {
  return tracer;
}

/** Sends the spans still buffered and stops tracing (at shutdown). */
export async function shutdownTracing(): Promise<void> {
  const current = provider;
  provider = undefined;
  tracer = undefined;
  if (!current) return;
  await current.shutdown().catch(() => undefined);
  trace.disable();
  context.disable();
  propagation.disable();
}
