import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactLoggedUrl } from '../../libs/platform/server/src/log-redaction';

describe('logged request URLs', () => {
  it('hide the values of api_key, key, token and access_token, in any case and encoding', () => {
    assert.equal(
      redactLoggedUrl('/v1/models?api_key=tl_secret1&limit=5&KEY=tl_secret2&token=t&access_token=a'),
      '/v1/models?api_key=[redacted]&limit=5&KEY=[redacted]&token=[redacted]&access_token=[redacted]',
    );
    assert.equal(redactLoggedUrl('/v1/x?api%5Fkey=tl_secret#frag'), '/v1/x?api%5Fkey=[redacted]#frag');
    assert.equal(redactLoggedUrl('/v1/x?token'), '/v1/x?token=[redacted]');
  });

  it('keep every other URL byte for byte', () => {
    for (const url of ['/v1/models', '/v1/alerts?state=open&keyword=a%20b', '/v1/x?monkey=1', '/health?'])
      assert.equal(redactLoggedUrl(url), url);
  });
});
