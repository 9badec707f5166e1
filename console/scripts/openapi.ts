// Writes the admin API's OpenAPI document, exactly as Gatehouse serves it at
// /api/v1/openapi.json, to console/openapi.json: the console's typed client is generated from it.
// The route table reads no service while it is built, so no database is needed.
import { writeFile } from 'node:fs/promises';
import { allRoutes, type ApiServices } from '../../src/routes/api/index.ts';
import { buildOpenApi } from '../../src/routes/api/framework.ts';

const doc = buildOpenApi(allRoutes({} as ApiServices), 'http://localhost:3000');
const target = new URL('../openapi.json', import.meta.url);
await writeFile(target, `${JSON.stringify(doc, null, 2)}\n`);
console.log(`wrote ${target.pathname}`);
