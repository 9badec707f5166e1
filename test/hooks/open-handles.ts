// Root hook: once the last test has run, the process must be able to end on its own. A server,
// socket, child process or interval a test forgot to close keeps it alive; after a grace period
// this names what is still open and ends the run as failed, instead of hanging CI or being hidden
// by a forced exit.
const GRACE_MS = 15_000;

/** The process's own standard streams. */
const STANDARD = new Set(['TTYWrap', 'PipeWrap']);

export const mochaHooks = {
  afterAll(): void {
    const watchdog = setTimeout(() => {
      const open = process.getActiveResourcesInfo().filter((name) => !STANDARD.has(name));
      const counts = new Map<string, number>();
      for (const name of open) counts.set(name, (counts.get(name) ?? 0) + 1);
      const listed = [...counts].map(([name, count]) => `${name} ×${count}`).join(', ');
      process.stderr.write(`\nThe tests have ended, but ${GRACE_MS / 1000} s later the process is still held open by: ${listed || 'nothing Node.js can name'}. A test left a server, connection, child process or interval running.\n`);
      // mocha sets the exit code from its failures in an 'exit' listener; this one runs after it.
      process.on('exit', () => {
        process.exitCode = 1;
      });
      process.exit(1);
    }, GRACE_MS);
    watchdog.unref();
  },
};
