// The `gatehouse` command as the build runs it: `npm start` is `node --max-semi-space-size=8
// dist/src/bin.js start` with MALLOC_ARENA_MAX=1 (memory settings: docs/operator-guide.md, "Memory"),
// JavaScript compiled at install (`npm ci` runs `prepare` → `npm run build`), with no TypeScript
// loader in the process. bin/gatehouse.js runs the same main() from the sources through tsx.
import { main } from './main.ts';

const code = await main(process.argv.slice(2));
if (code >= 0) process.exit(code);
