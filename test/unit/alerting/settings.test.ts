import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigurationError, parseEnvironment } from '@tripline/config';
import { alerterSettings } from '@tripline/alerts';

describe('alerter settings', () => {
  const environment = parseEnvironment({ PORT: '9090', KAFKA_TOPIC_PREFIX: 'acme.' });

  it('defaults link to this port and name the group after the topic prefix', () => {
    const settings = alerterSettings(environment, {});
    assert.equal(settings.publicUrl, 'http://localhost:9090');
    assert.equal(settings.consumerGroup, 'acme.alerter');
    assert.equal(settings.tickMs, 5_000);
    assert.equal(settings.lagIntervalMs, 30_000);
    assert.deepEqual(settings.egress, { allowHosts: [], allowLinkLocal: false });
  });

  it('a bad value names the variable, what it expects and what it got', () => {
    assert.throws(
      () => alerterSettings(environment, { TRIPLINE_ALERTER_TICK_MS: '5s', TRIPLINE_PUBLIC_URL: 'ftp://x' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigurationError);
        assert.match(
          error.message,
          /TRIPLINE_ALERTER_TICK_MS: expected milliseconds between 50 and 600000 \(got "5s"\)/,
        );
        assert.match(error.message, /TRIPLINE_PUBLIC_URL: expected the http\(s\) URL people use/);
        return true;
      },
    );
  });

  it('a public URL loses its trailing slash; the retry cap is never below the base', () => {
    const settings = alerterSettings(environment, {
      TRIPLINE_PUBLIC_URL: 'https://tripline.example/',
      TRIPLINE_ALERTER_RETRY_BASE_MS: '5000',
      TRIPLINE_ALERTER_RETRY_CAP_MS: '1000',
    });
    assert.equal(settings.publicUrl, 'https://tripline.example');
    assert.equal(settings.retryCapMs, 5_000);
  });
});
