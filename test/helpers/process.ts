// Running Node (bin/gatehouse.js or a test helper) as a child process and collecting what it printed.
import { spawn, type SpawnOptionsWithoutStdio } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const GATEHOUSE_BIN = fileURLToPath(new URL('../../bin/gatehouse.js', import.meta.url));

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node …args` to its end, with `input` on its stdin, and collects what it printed. */
export function runNode(args: string[], options: SpawnOptionsWithoutStdio, input = ''): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/** Runs `node bin/gatehouse.js …args` to its end, with `input` on its stdin. */
export function runGatehouse(args: string[], options: SpawnOptionsWithoutStdio, input = ''): Promise<ProcessResult> {
  return runNode([GATEHOUSE_BIN, ...args], options, input);
}
