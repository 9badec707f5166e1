// The log redaction list: what a request or a payload carries in the way of credentials never
// reaches a log line, and URLs are logged without their query strings.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, redactUrl, type Logger } from '../../src/logger.ts';

/** A logger writing JSON lines into memory; pino writes synchronously to a plain stream. */
function captureLogger(level = 'info'): { logger: Logger; lines: () => Record<string, unknown>[]; raw: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  const logger = createLogger(level, stream);
  return {
    logger,
    raw: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

const CREDENTIALS = {
  password: 'pw-VALUE-1',
  client_secret: 'cs-VALUE-2',
  code: 'code-VALUE-3',
  refresh_token: 'rt-VALUE-4',
  access_token: 'at-VALUE-5',
};

function assertNoCredential(text: string): void {
  for (const value of [...Object.values(CREDENTIALS), 'Bearer-VALUE-6', 'session-VALUE-7']) {
    assert.ok(!text.includes(value), `"${value}" reached the log:\n${text}`);
  }
}

describe('logger', () => {
  it('writes JSON lines tagged with the service name', () => {
    const { logger, lines } = captureLogger();
    logger.info({ port: 3000 }, 'Gatehouse listening');
    const [line] = lines();
    assert.equal(line.service, 'gatehouse');
    assert.equal(line.msg, 'Gatehouse listening');
    assert.equal(line.port, 3000);
  });

  it('redacts the authorization and cookie request headers but keeps the others', () => {
    const { logger, lines, raw } = captureLogger();
    logger.info({ req: { method: 'POST', url: '/token', headers: { authorization: 'Bearer Bearer-VALUE-6', cookie: '_session=session-VALUE-7', 'user-agent': 'curl/8' } } }, 'request');
    assertNoCredential(raw());
    const headers = (lines()[0].req as { headers: Record<string, string> }).headers;
    assert.equal(headers.authorization, '[redacted]');
    assert.equal(headers.cookie, '[redacted]');
    assert.equal(headers['user-agent'], 'curl/8', 'harmless headers stay readable');
  });

  it('redacts passwords, client secrets, codes and tokens nested in a logged object', () => {
    const { logger, lines, raw } = captureLogger();
    logger.info({ body: { ...CREDENTIALS, grant_type: 'authorization_code', client_id: 'portal' } }, 'token request');
    assertNoCredential(raw());
    const body = lines()[0].body as Record<string, string>;
    for (const field of Object.keys(CREDENTIALS)) assert.equal(body[field], '[redacted]', field);
    assert.equal(body.grant_type, 'authorization_code', 'other fields stay readable');
    assert.equal(body.client_id, 'portal');
  });

  it('redacts the same fields at the top level and two levels down', () => {
    const { logger, lines, raw } = captureLogger();
    logger.info({ ...CREDENTIALS }, 'top level');
    logger.info({ req: { body: { ...CREDENTIALS } } }, 'two levels down');
    logger.info({ items: [{ password: CREDENTIALS.password }] }, 'in an array');
    assertNoCredential(raw());
    const [top, deep, array] = lines();
    for (const field of Object.keys(CREDENTIALS)) {
      assert.equal(top[field], '[redacted]', `top-level ${field}`);
      assert.equal((deep.req as { body: Record<string, string> }).body[field], '[redacted]', `req.body.${field}`);
    }
    assert.deepEqual(array.items, [{ password: '[redacted]' }]);
  });

  it('redacts credentials carried on a logged error', () => {
    const { logger, raw } = captureLogger();
    const error = Object.assign(new Error('token exchange failed'), { refresh_token: CREDENTIALS.refresh_token });
    logger.error({ err: error }, 'failed');
    assertNoCredential(raw());
    assert.match(raw(), /token exchange failed/, 'the error message itself is still logged');
  });

  it('does not change the object the caller logged', () => {
    const { logger } = captureLogger();
    const body = { password: 'still-mine-123' };
    logger.info({ body }, 'login');
    assert.equal(body.password, 'still-mine-123');
  });

  it('respects the level: debug lines are dropped at info', () => {
    const { logger, lines } = captureLogger('info');
    logger.debug('hidden');
    logger.info('shown');
    assert.deepEqual(
      lines().map((l) => l.msg),
      ['shown'],
    );
  });

  it("logs a database error without the statement's values: no params, bindings or DETAIL, and no quoted input", () => {
    const { logger, raw, lines } = captureLogger();
    const error = Object.assign(new Error('insert into "oidc_payloads" ("id") values ($1) - invalid input syntax for type uuid: "rt-VALUE-4"'), {
      severity: 'ERROR',
      code: '22P02',
      params: ['rt-VALUE-4', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA'],
      bindings: ['at-VALUE-5'],
      detail: 'Key (id)=(rt-VALUE-4) already exists.',
      table: 'oidc_payloads',
    });
    logger.error({ err: error }, 'failed');
    logger.error({ err: new Error('wrapped', { cause: error }) }, 'failed, wrapped');
    logger.warn({ error: error.message }, 'failed too');
    assertNoCredential(raw());
    assert.doesNotMatch(raw(), /argon2id/);
    const err = lines()[0]!.err as Record<string, unknown>;
    assert.equal(err.sqlstate, '22P02', 'the SQLSTATE stays readable');
    assert.equal(err.table, 'oidc_payloads');
    assert.match(String(err.message), /values \(\$1\) - invalid input syntax for type uuid: "\[redacted\]"/);
  });
});

describe('redactUrl', () => {
  it('drops the query string, which may carry a code or a token', () => {
    assert.equal(redactUrl('/callback?code=code-VALUE-3&state=xyz'), '/callback?[redacted]');
    assert.equal(redactUrl('/auth?client_id=portal&login_hint=kim'), '/auth?[redacted]');
    assert.equal(redactUrl('https://id.example.com/token?access_token=at-VALUE-5'), 'https://id.example.com/token?[redacted]');
  });

  it('leaves a URL without a query string as it is', () => {
    assert.equal(redactUrl('/interaction/abc123/login'), '/interaction/abc123/login');
    assert.equal(redactUrl('/'), '/');
  });
});
