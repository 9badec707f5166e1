// loadConfig: the documented defaults, and what an operator sees when the environment is wrong:
// every problem named at once, production refusing trial settings, and no secret in the message.
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/index.ts';

const GOOD_SECRET = 'a-perfectly-good-secret-0123456789-abcdefghij';
const PRODUCTION = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://gatehouse@db:5432/gatehouse',
  REDIS_URL: 'redis://cache:6379/0',
  GATEHOUSE_SECRET: GOOD_SECRET,
  GATEHOUSE_ISSUER: 'https://id.example.com',
};

/** Runs loadConfig expecting a ConfigError and returns it. */
function configError(env: Record<string, string | undefined>): ConfigError {
  let caught: unknown;
  try {
    loadConfig(env);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${caught === undefined ? 'a config' : String(caught)}`);
  return caught;
}

/** The problem lines that name a variable, e.g. "PORT: ...". */
function problemsFor(error: ConfigError, variable: string): string[] {
  return error.problems.filter((p) => p.startsWith(`${variable}:`));
}

/** Asserts that `variable` is named in exactly one problem of `error`, and returns that problem. */
function onlyProblemFor(error: ConfigError, variable: string, why = `${variable} is named once in:\n${error.message}`): string {
  const problems = problemsFor(error, variable);
  assert.equal(problems.length, 1, why);
  return problems[0]!;
}

describe('loadConfig', () => {
  it('applies the documented defaults to an empty environment', () => {
    const config = loadConfig({});
    assert.equal(config.env, 'development');
    assert.equal(config.production, false);
    assert.equal(config.port, 3000);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.issuer, undefined, 'the issuer follows the bound port when not configured');
    assert.equal(config.databaseUrl, undefined, 'no DATABASE_URL: the embedded database');
    assert.equal(config.redisUrl, undefined, 'no REDIS_URL: the in-process store');
    assert.equal(config.databasePoolMax, 10);
    assert.equal(config.redisPrefix, 'gh:');
    assert.equal(config.dataDir, path.resolve('./.gatehouse'));
    assert.equal(config.secret, undefined);
    assert.equal(config.adminUsername, undefined);
    assert.equal(config.adminPassword, undefined);
    assert.equal(config.migrateOnStart, true);
    assert.equal(config.idTokenAlg, 'RS256');
    assert.equal(config.accessTokenTtl, 600);
    assert.equal(config.refreshTokenTtl, 14 * 24 * 3600);
    assert.equal(config.sessionTtl, 14 * 24 * 3600);
    assert.equal(config.sessionIdleTimeout, 3 * 24 * 3600);
    assert.equal(config.backchannelAllowPrivate, false);
    assert.equal(config.trustProxy, false);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.passwordHashConcurrency, os.availableParallelism(), 'one argon2id computation per core');
    assert.ok(Object.isFrozen(config), 'the config cannot be changed after it is loaded');
  });

  it('reads the variables it is given, as numbers and booleans where the table says so', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '127.0.0.1',
      GATEHOUSE_ISSUER: 'https://id.example.com/',
      GATEHOUSE_DATA_DIR: '/var/lib/gatehouse',
      GATEHOUSE_MIGRATE_ON_START: 'false',
      GATEHOUSE_TRUST_PROXY: 'true',
      GATEHOUSE_ID_TOKEN_ALG: 'ES256',
      GATEHOUSE_ACCESS_TOKEN_TTL: '300',
      LOG_LEVEL: 'debug',
      GATEHOUSE_PASSWORD_HASH_CONCURRENCY: '3',
    });
    assert.equal(config.passwordHashConcurrency, 3);
    assert.equal(config.port, 8080);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.issuer, 'https://id.example.com', 'a trailing slash is dropped from the issuer');
    assert.equal(config.dataDir, '/var/lib/gatehouse');
    assert.equal(config.migrateOnStart, false);
    assert.equal(config.trustProxy, true);
    assert.equal(config.idTokenAlg, 'ES256');
    assert.equal(config.accessTokenTtl, 300);
    assert.equal(config.logLevel, 'debug');
  });

  it('reads the session settings, and refuses an idle timeout longer than the session lifetime', () => {
    const config = loadConfig({ GATEHOUSE_SESSION_IDLE_TIMEOUT: '900', GATEHOUSE_BACKCHANNEL_ALLOW_PRIVATE: 'true' });
    assert.equal(config.sessionIdleTimeout, 900);
    assert.equal(config.backchannelAllowPrivate, true);
    // The reuse grace window is per application now: the old deployment-wide variable is refused
    // rather than silently ignored.
    const error = configError({ GATEHOUSE_REFRESH_REUSE_GRACE: '5' });
    assert.match(problemsFor(error, 'GATEHOUSE_REFRESH_REUSE_GRACE')[0] ?? '', /refreshTokenReuseGraceSeconds/);
    const longer = configError({ GATEHOUSE_SESSION_TTL: '3600', GATEHOUSE_SESSION_IDLE_TIMEOUT: '7200' });
    assert.match(problemsFor(longer, 'GATEHOUSE_SESSION_IDLE_TIMEOUT')[0] ?? '', /must not be longer than GATEHOUSE_SESSION_TTL/);
  });

  it('names every invalid variable in one ConfigError', () => {
    const error = configError({ PORT: 'abc', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud', GATEHOUSE_TRUST_PROXY: 'maybe' });
    for (const variable of ['PORT', 'DATABASE_URL', 'LOG_LEVEL', 'GATEHOUSE_TRUST_PROXY']) {
      onlyProblemFor(error, variable);
      assert.match(error.message, new RegExp(`^  - ${variable}: `, 'm'));
    }
    assert.equal(error.problems.length, 4, error.message);
    assert.match(problemsFor(error, 'DATABASE_URL')[0], /postgres:\/\//, 'the message says which URLs are accepted');
  });

  it('rejects a port out of range and a redis URL of another scheme', () => {
    const error = configError({ PORT: '70000', REDIS_URL: 'http://cache:6379' });
    onlyProblemFor(error, 'PORT');
    assert.match(onlyProblemFor(error, 'REDIS_URL'), /redis:\/\//);
  });

  it('reads Sentinel and Cluster settings into a connection, and a REDIS_URL as a standalone one', () => {
    assert.deepEqual(loadConfig({ REDIS_URL: 'redis://cache:6379/2' }).redis, { mode: 'standalone', url: 'redis://cache:6379/2' });
    assert.deepEqual(loadConfig({ REDIS_SENTINELS: 's1:26379, [::1]:26380', REDIS_SENTINEL_NAME: 'gatehouse', REDIS_SENTINEL_PASSWORD: 'sp', REDIS_PASSWORD: 'dp', REDIS_DB: '3', REDIS_TLS: 'true' }).redis, {
      mode: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: '::1', port: 26380 },
      ],
      name: 'gatehouse',
      sentinelPassword: 'sp',
      db: 3,
      password: 'dp',
      tls: true,
    });
    assert.deepEqual(loadConfig({ REDIS_CLUSTER_NODES: 'n1:7000,n2:7001', REDIS_USERNAME: 'gh' }).redis, {
      mode: 'cluster',
      nodes: [
        { host: 'n1', port: 7000 },
        { host: 'n2', port: 7001 },
      ],
      username: 'gh',
    });
    assert.equal(loadConfig({}).redis, undefined);
    const production = loadConfig({ ...PRODUCTION, REDIS_URL: undefined, REDIS_CLUSTER_NODES: 'n1:7000' });
    assert.equal(production.redis?.mode, 'cluster', 'a cluster satisfies production');
  });

  it('refuses two ways to Redis, a sentinel set without its name, bad node lists and settings the chosen way ignores', () => {
    const both = configError({ REDIS_URL: 'redis://cache:6379', REDIS_CLUSTER_NODES: 'n1:7000' });
    assert.match(problemsFor(both, 'REDIS_CLUSTER_NODES')[0], /only one of REDIS_URL, REDIS_SENTINELS and REDIS_CLUSTER_NODES/);
    assert.equal(problemsFor(configError({ REDIS_SENTINELS: 's1:26379' }), 'REDIS_SENTINEL_NAME').length, 1);
    const badNodes = configError({ REDIS_CLUSTER_NODES: 'n1:7000,n2', REDIS_SENTINELS: 's1:99999', REDIS_SENTINEL_NAME: 'x' });
    assert.match(problemsFor(badNodes, 'REDIS_CLUSTER_NODES')[0], /"n2" is not host:port/);
    assert.match(problemsFor(badNodes, 'REDIS_SENTINELS')[0], /"s1:99999" is not host:port/);
    assert.equal(problemsFor(configError({ REDIS_URL: 'redis://cache:6379', REDIS_PASSWORD: 'x' }), 'REDIS_PASSWORD').length, 1, 'REDIS_URL carries its own password');
    assert.equal(problemsFor(configError({ REDIS_SENTINEL_NAME: 'x' }), 'REDIS_SENTINEL_NAME').length, 1);
    assert.match(problemsFor(configError({ REDIS_CLUSTER_NODES: 'n1:7000', REDIS_DB: '2' }), 'REDIS_DB')[0], /database 0 only/);
    const leaked = configError({ REDIS_URL: 'redis://cache:6379', REDIS_PASSWORD: 'hunter2-redis', REDIS_SENTINEL_PASSWORD: 'hunter2-sentinel' });
    assert.doesNotMatch(leaked.message, /hunter2/);
  });

  it('in production refuses the trial defaults, naming DATABASE_URL, REDIS_URL, GATEHOUSE_SECRET and GATEHOUSE_ISSUER', () => {
    const error = configError({ NODE_ENV: 'production' });
    for (const variable of ['DATABASE_URL', 'REDIS_URL', 'GATEHOUSE_SECRET', 'GATEHOUSE_ISSUER']) {
      assert.match(onlyProblemFor(error, variable), /required when NODE_ENV=production/);
    }
    assert.equal(error.problems.length, 4, error.message);
  });

  it('in production names only what is missing, and accepts a complete configuration', () => {
    const { REDIS_URL: _redis, ...withoutRedis } = PRODUCTION;
    const error = configError(withoutRedis);
    assert.deepEqual(
      error.problems.map((p) => p.split(':')[0]),
      ['REDIS_URL'],
    );
    assert.match(error.problems[0]!, /REDIS_SENTINELS or REDIS_CLUSTER_NODES/);

    const config = loadConfig(PRODUCTION);
    assert.equal(config.production, true);
    assert.equal(config.databaseUrl, PRODUCTION.DATABASE_URL);
    assert.equal(config.redisUrl, PRODUCTION.REDIS_URL);
    assert.equal(config.issuer, 'https://id.example.com');
  });

  it('in production reports an invalid variable together with the missing ones', () => {
    // Fixing one problem only to be told about the next is what "every problem at once" avoids.
    const error = configError({ NODE_ENV: 'production', PORT: 'abc', DATABASE_URL: 'mysql://db/gatehouse' });
    onlyProblemFor(error, 'PORT');
    assert.doesNotMatch(onlyProblemFor(error, 'DATABASE_URL', `an invalid DATABASE_URL is reported once, as invalid:\n${error.message}`), /required/);
    for (const variable of ['REDIS_URL', 'GATEHOUSE_SECRET', 'GATEHOUSE_ISSUER']) onlyProblemFor(error, variable);
  });

  it('never puts a secret value in the message', () => {
    // Each variable is invalid with a secret in its value, so each must be reported without it.
    const secrets = {
      GATEHOUSE_SECRET: 'tooshort-SECRETVALUE',
      GATEHOUSE_ADMIN_PASSWORD: 'ADMINPW',
      DATABASE_URL: 'mysql://gatehouse:DBPASSWORD@db:3306/gatehouse',
      REDIS_URL: 'http://:REDISPASSWORD@cache:6379',
    };
    const error = configError(secrets);
    for (const variable of Object.keys(secrets)) onlyProblemFor(error, variable);
    assert.match(problemsFor(error, 'GATEHOUSE_SECRET')[0], /at least 32 characters/);
    const everything = `${error.message}\n${error.problems.join('\n')}\n${error.stack ?? ''}`;
    for (const value of ['SECRETVALUE', 'tooshort', 'ADMINPW', 'DBPASSWORD', 'REDISPASSWORD']) {
      assert.ok(!everything.includes(value), `"${value}" leaked into:\n${error.message}`);
    }
  });

  it('counts empty strings as unset', () => {
    const config = loadConfig({ PORT: '', HOST: '', DATABASE_URL: '', REDIS_URL: '', GATEHOUSE_SECRET: '', GATEHOUSE_ISSUER: '', LOG_LEVEL: '', GATEHOUSE_MIGRATE_ON_START: '' });
    assert.equal(config.port, 3000);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.databaseUrl, undefined, 'DATABASE_URL= means the embedded database, not an invalid URL');
    assert.equal(config.redisUrl, undefined);
    assert.equal(config.secret, undefined, 'GATEHOUSE_SECRET= is not a (too short) secret');
    assert.equal(config.issuer, undefined);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.migrateOnStart, true);

    // ...so in production an empty value is reported as missing, not accepted.
    const error = configError({ ...PRODUCTION, DATABASE_URL: '', GATEHOUSE_SECRET: '' });
    assert.deepEqual(error.problems.map((p) => p.split(':')[0]).sort(), ['DATABASE_URL', 'GATEHOUSE_SECRET']);
    assert.match(problemsFor(error, 'GATEHOUSE_SECRET')[0], /required when NODE_ENV=production/);
  });
});
