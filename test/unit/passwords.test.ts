// Password hashing: argon2id with its parameters in each hash, NFKC, the 1 KiB input limit before
// any hashing, imported bcrypt / PBKDF2 / argon2i hashes verified and marked for upgrade.
import assert from 'node:assert/strict';
import { pbkdf2Sync } from 'node:crypto';
import argon2 from 'argon2';
import bcrypt from 'bcryptjs';
import { createPasswordHasher, hashCostProblem, hashScheme } from '../../src/services/passwords.ts';

const cheap = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

describe('password hashing', () => {
  it('hashes with argon2id and the configured parameters, and asks for a re-hash when they change', async () => {
    const hasher = createPasswordHasher(cheap);
    const hash = await hasher.hash('a long enough passphrase');
    assert.match(hash, /^\$argon2id\$v=19\$m=1024,p=1,t=1\$/);
    assert.equal(hasher.needsRehash(hash), false);
    assert.equal(createPasswordHasher({ ...cheap, timeCost: 2 }).needsRehash(hash), true);
    assert.equal(await hasher.verify(hash, 'a long enough passphrase'), true);
  });

  it('normalises to NFKC: the same password typed two ways verifies', async () => {
    const hasher = createPasswordHasher(cheap);
    const hash = await hasher.hash('ﬁnancial ﬁles are safe');
    assert.equal(await hasher.verify(hash, 'financial files are safe'), true);
  });

  it('refuses input over 1 KiB without hashing it, and counts a verification for an unknown user', async () => {
    const hasher = createPasswordHasher(cheap);
    const hash = await hasher.hash('x'.repeat(1024));
    const before = hasher.stats.verifications;
    assert.equal(await hasher.verify(hash, 'x'.repeat(1025)), false);
    assert.equal(hasher.stats.verifications, before, 'no verification for oversize input');
    assert.equal(await hasher.verify(undefined, 'anything at all'), false);
    assert.equal(hasher.stats.verifications, before + 1, 'an unknown user still costs one verification');
  });

  it('verifies imported bcrypt, PBKDF2 (Django, passlib) and argon2i hashes, and marks them for upgrade', async () => {
    const hasher = createPasswordHasher(cheap);
    const salt = 'seasalt';
    const django = `pbkdf2_sha256$1000$${salt}$${pbkdf2Sync('imported pw', salt, 1000, 32, 'sha256').toString('base64')}`;
    const passlibSalt = Buffer.from('0123456789abcdef');
    const ab64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '').replace(/\+/g, '.');
    const passlib = `$pbkdf2-sha512$1000$${ab64(passlibSalt)}$${ab64(pbkdf2Sync('imported pw', passlibSalt, 1000, 64, 'sha512'))}`;
    const hashes = {
      bcrypt: bcrypt.hashSync('imported pw', 4),
      django,
      passlib,
      argon2i: await argon2.hash('imported pw', { type: argon2.argon2i, memoryCost: 1024, timeCost: 1 }),
    };
    for (const [name, hash] of Object.entries(hashes)) {
      assert.ok(hashScheme(hash), `${name} is recognised`);
      assert.equal(await hasher.verify(hash, 'imported pw'), true, `${name} verifies`);
      assert.equal(await hasher.verify(hash, 'imported pW'), false, `${name} refuses a wrong password`);
      assert.equal(hasher.needsRehash(hash), true, `${name} is upgraded at the next sign-in`);
    }
    assert.equal(hashScheme('md5$abc$def'), undefined);
  });

  it('names the cost problem of absurd imported hashes and never computes them', async () => {
    const hasher = createPasswordHasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 });
    const pbkdf2 = `pbkdf2_sha256$999999999$salt$${Buffer.alloc(32, 1).toString('base64')}`;
    assert.match(hashCostProblem(pbkdf2) ?? '', /999999999 iterations/);
    assert.match(hashCostProblem(`$2b$31$${'a'.repeat(53)}`) ?? '', /bcrypt cost 31/);
    assert.match(hashCostProblem('$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo') ?? '', /memory 4194304 KiB/);
    assert.equal(hashCostProblem(`pbkdf2_sha256$600000$salt$${Buffer.alloc(32, 1).toString('base64')}`), undefined);
    assert.equal(hashCostProblem(await hasher.hash('x')), undefined);
    const before = hasher.stats.dummyVerifications;
    assert.equal(await hasher.verify(pbkdf2, 'anything'), false);
    assert.equal(hasher.stats.dummyVerifications, before + 1, 'verified against the dummy hash instead');
  });
});
