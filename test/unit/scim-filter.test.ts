// The SCIM filter and PATCH-path parser (RFC 7644 §3.4.2.2, §3.5.2): the RFC's own example
// filters parse to the expected trees, precedence holds, bad filters are refused with
// scimType invalidFilter, and the in-memory evaluator compares case-insensitively.
import assert from 'node:assert/strict';
import { AppError } from '../../src/services/errors.ts';
import { matches, parseFilter, parsePatchPath } from '../../src/services/scim-filter.ts';

describe('SCIM filter parser', () => {
  it('parses every example filter of RFC 7644 §3.4.2.2', () => {
    const examples = [
      'userName Eq "john"',
      'Username eq "john"',
      'name.familyName co "O\'Malley"',
      'userName sw "J"',
      'urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"',
      'title pr',
      'meta.lastModified gt "2011-05-13T04:42:34Z"',
      'meta.lastModified ge "2011-05-13T04:42:34Z"',
      'meta.lastModified lt "2011-05-13T04:42:34Z"',
      'meta.lastModified le "2011-05-13T04:42:34Z"',
      'title pr and userType eq "Employee"',
      'title pr or userType eq "Intern"',
      'schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"',
      'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
      'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
      'userType eq "Employee" and (emails.type eq "work")',
      'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
      'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]',
    ];
    for (const text of examples) assert.doesNotThrow(() => parseFilter(text), text);
  });

  it('builds the tree with names lower-cased and the core schema dropped', () => {
    assert.deepEqual(parseFilter('urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"'), { op: 'sw', path: { attr: 'username' }, value: 'J' });
    assert.deepEqual(parseFilter('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Sales"'), {
      op: 'eq',
      path: { schema: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:user', attr: 'department' },
      value: 'Sales',
    });
    assert.deepEqual(parseFilter('active eq false'), { op: 'eq', path: { attr: 'active' }, value: false });
  });

  it('binds and tighter than or, and not/parentheses tightest', () => {
    const tree = parseFilter('a eq 1 or b eq 2 and c eq 3');
    assert.equal(tree.op, 'or');
    assert.equal((tree as { right: { op: string } }).right.op, 'and');
    const grouped = parseFilter('(a eq 1 or b eq 2) and not (c eq 3)');
    assert.equal(grouped.op, 'and');
    assert.equal((grouped as { right: { op: string } }).right.op, 'not');
  });

  it('refuses malformed filters with scimType invalidFilter', () => {
    for (const text of ['', 'userName', 'userName xx "a"', 'userName eq', '(userName eq "a"', 'userName eq "a" extra', 'userName eq "unterminated', 'a eq "x" and']) {
      assert.throws(
        () => parseFilter(text),
        (e: unknown) => e instanceof AppError && e.status === 400 && (e.details as { scimType: string }).scimType === 'invalidFilter',
        text,
      );
    }
  });

  it('parses PATCH paths with a value filter and a sub-attribute', () => {
    assert.deepEqual(parsePatchPath('members[value eq "2819c223-7f76-453a-919d-413861904646"]'), {
      path: { attr: 'members' },
      filter: { op: 'eq', path: { attr: 'value' }, value: '2819c223-7f76-453a-919d-413861904646' },
    });
    assert.deepEqual(parsePatchPath('emails[type eq "work"].value'), { path: { attr: 'emails' }, filter: { op: 'eq', path: { attr: 'type' }, value: 'work' }, sub: 'value' });
    assert.deepEqual(parsePatchPath('name.givenName'), { path: { attr: 'name', sub: 'givenname' } });
    assert.throws(
      () => parsePatchPath('members[value eq "x"'),
      (e: unknown) => e instanceof AppError && (e.details as { scimType: string }).scimType === 'invalidPath',
    );
  });

  it('evaluates filters against a resource, strings case-insensitively except id', () => {
    const group = { id: 'AbC', displayName: 'Sales Team', members: [{ value: 'u1' }, { value: 'u2' }] };
    assert.ok(matches(group, parseFilter('displayName eq "sales team"')));
    assert.ok(matches(group, parseFilter('displayname sw "SAL" and not (displayName ew "x")')));
    assert.ok(!matches(group, parseFilter('id eq "abc"')));
    assert.ok(matches(group, parseFilter('members[value eq "u2"]')));
    assert.ok(matches(group, parseFilter('members eq "u1"')));
    assert.ok(!matches(group, parseFilter('externalId pr')));
    assert.ok(matches(group, parseFilter('externalId ne "x"')));
  });
});
