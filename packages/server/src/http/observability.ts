import type { FastifyInstance, RouteOptions } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Registry;
  }
  interface FastifyContextConfig {
    /** One-line summary for the OpenAPI document. */
    summary?: string;
    /** Leave the route out of the OpenAPI document. */
    hidden?: boolean;
  }
}

/** Prometheus metrics (/metrics) with per-route request counts and latencies. */
export function installMetrics(app: FastifyInstance): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({ name: 'signet_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers: [registry] });
  const latency = new Histogram({
    name: 'signet_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  app.decorate('metrics', registry);
  // Callback-style hooks (here and in auth) cost no promise per request.
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    latency.observe({ method: req.method, route }, reply.elapsedTime / 1000);
    done();
  });
  app.get('/metrics', { config: { summary: 'Prometheus metrics' } }, async (_req, reply) => {
    return reply.type(registry.contentType).send(await registry.metrics());
  });
  return registry;
}

/** Builds /openapi.json from the routes as they are registered, with their JSON schemas. */
export function installOpenApi(app: FastifyInstance, info: { title: string; version: string }): void {
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (r) => {
    if (!r.config?.hidden) routes.push(r);
  });
  let doc: unknown;
  app.get('/openapi.json', { config: { summary: 'This API description (OpenAPI 3.0)', hidden: true } }, async () => {
    doc ??= build();
    return doc;
  });
  function build(): unknown {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const r of routes) {
      const methods = (Array.isArray(r.method) ? r.method : [r.method]).map((m) => m.toLowerCase()).filter((m) => m !== 'head');
      const path = r.url.replace(/:([A-Za-z_]+)/g, '{$1}').replace(/\*$/, '{path}');
      const s = (r.schema ?? {}) as Record<string, unknown>;
      for (const m of methods) {
        const op: Record<string, unknown> = { summary: r.config?.summary ?? `${m.toUpperCase()} ${path}` };
        const params: unknown[] = [];
        for (const name of path.match(/\{([^}]+)\}/g) ?? []) params.push({ name: name.slice(1, -1), in: 'path', required: true, schema: { type: 'string' } });
        const qs = s['querystring'] as { properties?: Record<string, unknown>; required?: string[] } | undefined;
        for (const [name, schema] of Object.entries(qs?.properties ?? {})) params.push({ name, in: 'query', required: qs?.required?.includes(name) ?? false, schema });
        if (params.length) op['parameters'] = params;
        if (s['body']) op['requestBody'] = { required: true, content: { 'application/json': { schema: s['body'] } } };
        op['responses'] = s['response'] ? Object.fromEntries(Object.entries(s['response'] as object).map(([code, schema]) => [code, { description: code, content: { 'application/json': { schema } } }])) : { default: { description: 'response' } };
        (paths[path] ??= {})[m] = op;
      }
    }
    return { openapi: '3.0.3', info, paths };
  }
}
