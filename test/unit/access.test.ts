import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultRequirement, isGranted, type Principal } from '@tripline/auth';

const principal = (role: Principal['role'], scopes: Principal['scopes'] = []): Principal => ({
  keyId: 'k',
  name: 'k',
  role,
  scopes,
});

describe('access rules', () => {
  it('roles are ordered viewer < operator < admin', () => {
    assert.equal(isGranted(principal('viewer'), { role: 'viewer' }), true);
    assert.equal(isGranted(principal('viewer'), { role: 'operator' }), false);
    assert.equal(isGranted(principal('operator'), { role: 'viewer' }), true);
    assert.equal(isGranted(principal('operator'), { role: 'admin' }), false);
    assert.equal(isGranted(principal('admin'), { role: 'operator' }), true);
  });

  it('the ingest scope is held by keys granted it and by admins only', () => {
    assert.equal(isGranted(principal(null, ['ingest']), { scope: 'ingest' }), true);
    assert.equal(isGranted(principal('operator'), { scope: 'ingest' }), false);
    assert.equal(isGranted(principal('admin'), { scope: 'ingest' }), true);
    assert.equal(isGranted(principal(null, ['ingest']), { role: 'viewer' }), false);
  });

  it('undeclared routes: reads need a viewer, writes an operator', () => {
    assert.deepEqual(defaultRequirement('GET'), { role: 'viewer' });
    assert.deepEqual(defaultRequirement('post'), { role: 'operator' });
    assert.deepEqual(defaultRequirement('DELETE'), { role: 'operator' });
  });
});
