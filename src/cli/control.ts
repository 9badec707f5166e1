// The CLI beside a running server on the embedded database. PGlite belongs to one process, so
// while the server holds the data directory's lock it carries out CLI commands itself: it
// listens on a Unix socket in the data directory, and a CLI process that finds the database
// busy sends its command line there and relays the output and exit code it gets back.
//
// Only the data directory's owner may use it: the directory is 0700 and the socket 0600, and
// Node offers no SO_PEERCRED, so the peer proves who it is with a random token the server writes
// to a 0600 file beside the socket: only someone who can read the data directory can send it.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, lstat, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import type { Logger } from '../logger.ts';
import type { CommandIo } from './commands.ts';
import { EXIT_FAILED } from './run.ts';

export const CONTROL_SOCKET = 'control.sock';
export const CONTROL_TOKEN = 'control.token';

/** Longest request line: a command line and a password from stdin, never a file's contents. */
const MAX_REQUEST_BYTES = 1024 * 1024;
/** sun_path holds 108 bytes on Linux (104 on macOS), terminator included. */
const MAX_SOCKET_PATH_BYTES = 103;

const requestSchema = z.object({
  token: z.string().max(200),
  argv: z.array(z.string().max(65_536)).max(1000),
  stdin: z.string().max(MAX_REQUEST_BYTES).optional(),
  cwd: z.string().min(1).max(4096),
});

type Reply = { stdout: string } | { stderr: string } | { exit: number } | { error: string };

export interface ControlChannel {
  readonly socketPath: string;
  /** Stops taking commands, waits for those running, and removes the socket and token. */
  close(): Promise<void>;
}

export interface ControlChannelOptions {
  dataDir: string;
  logger: Logger;
  /** Runs one command line as the CLI would; resolves to its exit code. */
  run(argv: string[], io: CommandIo): Promise<number>;
}

function sameToken(given: string, expected: Buffer): boolean {
  const candidate = Buffer.from(given, 'utf8');
  return candidate.length === expected.length && timingSafeEqual(candidate, expected);
}

/** Listens for CLI commands in the data directory; undefined when its path is too long for a socket. */
export async function openControlChannel(options: ControlChannelOptions): Promise<ControlChannel | undefined> {
  const socketPath = path.join(options.dataDir, CONTROL_SOCKET);
  const tokenPath = path.join(options.dataDir, CONTROL_TOKEN);
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    options.logger.warn({ socketPath }, 'the data directory path is too long for a Unix socket: CLI commands cannot reach this server while it runs');
    return undefined;
  }
  // We hold the data directory's lock, so a socket or token found here was left by a crash.
  await rm(socketPath, { force: true });
  await rm(tokenPath, { force: true });
  const token = randomBytes(32).toString('base64url');
  const expected = Buffer.from(token, 'utf8');
  await writeFile(tokenPath, token, { mode: 0o600, flag: 'wx' });

  const running = new Set<Promise<unknown>>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const send = (reply: Reply) => {
      if (!socket.destroyed) socket.write(`${JSON.stringify(reply)}\n`);
    };
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const end = buffered.indexOf('\n');
      if (end < 0) {
        if (buffered.length > MAX_REQUEST_BYTES) socket.destroy();
        return;
      }
      socket.off('data', onData);
      const parsed = (() => {
        try {
          return requestSchema.safeParse(JSON.parse(buffered.slice(0, end)));
        } catch {
          return undefined;
        }
      })();
      if (!parsed?.success || !sameToken(parsed.data.token, expected)) {
        options.logger.warn('refused a CLI command on the control socket: missing or wrong token');
        socket.end(`${JSON.stringify({ error: 'refused: this server takes commands only from the owner of its data directory' } satisfies Reply)}\n`);
        return;
      }
      const request = parsed.data;
      const io: CommandIo = {
        stdout: (text) => send({ stdout: text }),
        stderr: (text) => send({ stderr: text }),
        readStdin: async () => request.stdin ?? '',
        cwd: request.cwd,
      };
      const work = Promise.resolve()
        .then(() => options.run(request.argv, io))
        .catch((error: unknown) => {
          options.logger.error({ err: error }, 'CLI command on the control socket failed');
          io.stderr(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
          return EXIT_FAILED;
        })
        .then((code) => {
          if (!socket.destroyed) socket.end(`${JSON.stringify({ exit: code } satisfies Reply)}\n`);
        });
      running.add(work);
      void work.finally(() => running.delete(work));
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // The directory is 0700 already; the socket's own mode says the same to whoever looks.
  await chmod(socketPath, 0o600);

  let closing: Promise<void> | undefined;
  return {
    socketPath,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.allSettled([...running]);
        for (const socket of sockets) socket.destroy();
        await closed;
        await rm(tokenPath, { force: true });
        await rm(socketPath, { force: true });
      })();
      return closing;
    },
  };
}

/**
 * Sends a command line to the server running on `dataDir` and relays its output; resolves to
 * the exit code, or undefined when no server answers there (the caller reports the busy lock).
 */
export async function runThroughServer(dataDir: string, argv: string[], io: CommandIo): Promise<number | undefined> {
  const socketPath = path.join(dataDir, CONTROL_SOCKET);
  let token: string;
  try {
    const info = await lstat(socketPath);
    // Only a socket of our own user: anything else there is not a Gatehouse we started.
    if (!info.isSocket() || (process.getuid && info.uid !== process.getuid())) return undefined;
    token = await readFile(path.join(dataDir, CONTROL_TOKEN), 'utf8');
  } catch {
    return undefined;
  }
  const stdin = argv.includes('--password-stdin') ? await io.readStdin() : undefined;
  return new Promise<number | undefined>((resolve) => {
    const socket = net.connect(socketPath);
    let answered = false;
    let buffered = '';
    let result: number | undefined;
    socket.on('connect', () => socket.write(`${JSON.stringify({ token, argv, stdin, cwd: io.cwd })}\n`));
    socket.on('data', (chunk: Buffer) => {
      answered = true;
      buffered += chunk.toString('utf8');
      let end: number;
      while ((end = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 1);
        let reply: Partial<{ stdout: string; stderr: string; exit: number; error: string }>;
        try {
          reply = JSON.parse(line) as typeof reply;
        } catch {
          continue;
        }
        if (typeof reply.stdout === 'string') io.stdout(reply.stdout);
        else if (typeof reply.stderr === 'string') io.stderr(reply.stderr);
        else if (typeof reply.exit === 'number') result = reply.exit;
        else if (typeof reply.error === 'string') {
          io.stderr(`Error: ${reply.error}\n`);
          result = EXIT_FAILED;
        }
      }
    });
    // Refused or vanished before answering: no server is there (a crash left the socket).
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (!answered) return resolve(undefined);
      if (result === undefined) {
        io.stderr('Error: the running server closed the connection before the command finished; check its log.\n');
        result = EXIT_FAILED;
      }
      resolve(result);
    });
  });
}
