// Declarative, idempotent import of users, applications and API resources from JSON or YAML.
// Running the same file twice changes nothing the second time.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { GatehouseContext } from '../context.ts';
import type { Actor } from './actor.ts';
import { apiResourceSchema } from './api-resources.ts';
import { newApplicationSchema } from './applications.ts';
import { AppError } from './errors.ts';
import { newUserSchema } from './users.ts';

export const seedSchema = z.object({
  users: z.array(newUserSchema).default([]),
  applications: z.array(newApplicationSchema).default([]),
  apiResources: z.array(apiResourceSchema).default([]),
}).strict();

export type SeedInput = z.input<typeof seedSchema>;

export interface SeedReport {
  users: { created: string[]; unchanged: string[] };
  applications: { created: string[]; updated: string[]; unchanged: string[] };
  apiResources: { upserted: string[] };
  /** Secrets generated for new confidential applications: shown once. */
  clientSecrets: { clientId: string; clientSecret: string }[];
}

export async function readSeedFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new AppError('seed.unreadable', 400, `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    return /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new AppError('seed.unparsable', 400, `${file} is not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(error as Error).message}`);
  }
}

export function parseSeed(input: unknown): z.output<typeof seedSchema> {
  const parsed = seedSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new AppError('seed.invalid', 400, `the seed file has ${problems.length} problem(s):\n  - ${problems.join('\n  - ')}`);
  }
  return parsed.data;
}

export async function applySeed(context: GatehouseContext, input: unknown, actor: Actor): Promise<SeedReport> {
  // Validate everything before writing anything.
  const seed = parseSeed(input);
  const report: SeedReport = { users: { created: [], unchanged: [] }, applications: { created: [], updated: [], unchanged: [] }, apiResources: { upserted: [] }, clientSecrets: [] };

  for (const resource of seed.apiResources) {
    await context.apiResources.upsert(resource, actor);
    report.apiResources.upserted.push(resource.identifier);
  }
  for (const user of seed.users) {
    if (await context.users.findByUsername(user.username)) {
      report.users.unchanged.push(user.username);
      continue;
    }
    await context.users.create(user, actor);
    report.users.created.push(user.username);
  }
  for (const app of seed.applications) {
    const existing = app.clientId ? await context.applications.findById(app.clientId) : await context.applications.findByName(app.name);
    if (!existing) {
      const { application, clientSecret } = await context.applications.create(app, actor);
      report.applications.created.push(application.id);
      if (clientSecret && !app.clientSecret) report.clientSecrets.push({ clientId: application.id, clientSecret });
      continue;
    }
    const changed = await context.applications.updateFromSeed(existing, app, actor);
    (changed ? report.applications.updated : report.applications.unchanged).push(existing.id);
  }
  return report;
}
