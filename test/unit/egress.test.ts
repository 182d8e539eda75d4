import assert from 'node:assert/strict';
import type { LookupAddress, LookupAllOptions, LookupOptions } from 'node:dns';
import { describe, it } from 'node:test';
import { AdapterConfig, redactAdapterConfig, describeErrorBody, withPath } from '@tripline/adapters';
import {
  assertEgressAllowed,
  createEgressLookup,
  EGRESS_REFUSED,
  EgressPolicy,
  egressPolicyFromEnvironment,
  REDACTED,
  urlDestination,
} from '@tripline/egress';
import { registerOwnListener } from '@tripline/config';

const open: EgressPolicy = { allowHosts: [], allowLinkLocal: false };

function refusal(url: string, policy: EgressPolicy = open): string {
  try {
    assertEgressAllowed(url, policy);
  } catch (error) {
    assert.equal((error as { code?: string }).code, EGRESS_REFUSED);
    return (error as Error).message;
  }
  assert.fail(`expected ${url} to be refused`);
}

function allowed(url: string, policy: EgressPolicy = open): void {
  assert.doesNotThrow(() => assertEgressAllowed(url, policy), `expected ${url} to be allowed`);
}

describe('egress guard: link-local and metadata', () => {
  it('refuses the cloud metadata endpoints and says how to permit them', () => {
    assert.equal(
      refusal('http://169.254.169.254/latest/meta-data/'),
      'egress to 169.254.169.254 refused: link-local and cloud metadata addresses are blocked (set allowLinkLocal to permit)',
    );
    assert.match(refusal('http://100.100.100.200/latest/meta-data/'), /egress to 100\.100\.100\.200 refused/);
    assert.match(refusal('http://[fd00:ec2::254]/latest/meta-data/'), /egress to fd00:ec2::254 refused/);
    assert.match(
      refusal('http://metadata.google.internal/computeMetadata/v1/'),
      /metadata\.google\.internal/,
    );
    assert.match(
      refusal('http://METADATA.Google.Internal./computeMetadata/v1/'),
      /metadata\.google\.internal/,
    );
  });

  it('refuses all of 169.254.0.0/16 and fe80::/10, on any port', () => {
    refusal('http://169.254.0.1/');
    refusal('https://169.254.255.255:8443/x');
    refusal('http://[fe80::1]:8000/');
    refusal('http://[febf:ffff::1]/');
  });

  it('sees through other spellings of 169.254.169.254', () => {
    // Decimal, hexadecimal, octal and trailing-dot forms, which the URL parser normalises.
    for (const spelling of [
      '2852039166',
      '0xa9fea9fe',
      '0251.0376.0251.0376',
      '0xa9.0xfe.0xa9.0xfe',
      '169.254.169.254.',
    ]) {
      assert.match(
        refusal(`http://${spelling}/latest/meta-data/`),
        /^egress to 169\.254\.169\.254 refused/,
        spelling,
      );
    }
    // IPv4 carried in IPv6: mapped, SIIT and the NAT64 well-known prefix all reach the IPv4 address.
    for (const spelling of [
      '[::ffff:169.254.169.254]',
      '[::ffff:a9fe:a9fe]',
      '[::ffff:0:a9fe:a9fe]',
      '[64:ff9b::a9fe:a9fe]',
    ]) {
      assert.match(refusal(`http://${spelling}/`), /^egress to 169\.254\.169\.254 refused/, spelling);
    }
  });

  it('lets loopback, private and public addresses through by default', () => {
    allowed('http://127.0.0.1:8000/v2/health/ready');
    allowed('http://[::1]:8000/');
    allowed('http://10.0.0.5/');
    allowed('http://models.internal:8080/');
    allowed('https://api.openai.com/v1');
    // Neighbours of the blocked ranges.
    allowed('http://169.253.255.255/');
    allowed('http://169.255.0.0/');
    allowed('http://100.100.100.201/');
    allowed('http://[fec0::1]/');
  });

  it('allows link-local and metadata when the policy says so', () => {
    const permissive = { allowHosts: [], allowLinkLocal: true };
    allowed('http://169.254.169.254/latest/meta-data/', permissive);
    allowed('http://metadata.google.internal/', permissive);
    allowed('http://[fe80::1]/', permissive);
  });

  it('refuses schemes other than http and https', () => {
    assert.match(refusal('file:///etc/passwd'), /only http and https/);
    assert.match(refusal('ftp://example.com/x'), /only http and https/);
    assert.match(refusal('gopher://127.0.0.1:6379/_INFO'), /only http and https/);
    assert.match(refusal('not a url'), /not a valid URL/);
  });
});

describe('egress guard: allow-list', () => {
  const policy: EgressPolicy = {
    allowHosts: ['models.example.com', '*.corp.example', '10.0.0.0/8', '2001:db8::/32', '192.168.1.7'],
    allowLinkLocal: false,
  };

  it('passes exact names, case and trailing dot aside', () => {
    allowed('https://models.example.com/v2', policy);
    allowed('https://MODELS.example.com./v2', policy);
  });

  it('passes subdomains of a wildcard at any depth, but not the bare suffix or look-alikes', () => {
    allowed('http://a.corp.example/', policy);
    allowed('http://b.a.corp.example:9000/', policy);
    refusal('http://corp.example/', { ...policy, allowHosts: ['*.corp.example'] });
    refusal('http://evilcorp.example/', { ...policy, allowHosts: ['*.corp.example'] });
    refusal('http://a.corp.example.evil.test/', { ...policy, allowHosts: ['*.corp.example'] });
  });

  it('passes IPs and CIDR ranges, IPv4 and IPv6, and nothing else', () => {
    allowed('http://10.1.2.3/', policy);
    allowed('http://[::ffff:10.1.2.3]/', policy);
    allowed('http://[2001:db8:1::5]/', policy);
    allowed('http://192.168.1.7:8000/', policy);
    assert.match(refusal('http://11.0.0.1/', policy), /not in the egress allow-list/);
    refusal('http://[2001:db9::1]/', policy);
    refusal('http://192.168.1.8/', policy);
  });

  it('refuses a name no entry matches when the list holds names only', () => {
    const names = { allowHosts: ['models.example.com'], allowLinkLocal: false };
    assert.equal(
      refusal('http://other.example.com/', names),
      'egress to other.example.com refused: the host is not in the egress allow-list (allowHosts, TRIPLINE_EGRESS_ALLOW_HOSTS)',
    );
  });

  it('leaves a name to connect time when the list holds addresses, as only the resolved address can decide', () => {
    allowed('http://unlisted.example/', { allowHosts: ['10.0.0.0/8'], allowLinkLocal: false });
  });

  it('keeps link-local blocked even when an allow-list entry covers it', () => {
    refusal('http://169.254.169.254/', { allowHosts: ['169.254.0.0/16'], allowLinkLocal: false });
    allowed('http://169.254.169.254/', { allowHosts: ['169.254.0.0/16'], allowLinkLocal: true });
    refusal('http://169.254.169.254/', { allowHosts: ['10.0.0.0/8'], allowLinkLocal: true });
  });
});

describe('egress guard: connect-time lookup', () => {
  type Answer = LookupAddress[] | NodeJS.ErrnoException;
  const resolverFor = (answers: Record<string, Answer>) => {
    const asked: string[] = [];
    const resolver = (
      hostname: string,
      options: LookupAllOptions,
      callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
    ) => {
      asked.push(hostname);
      assert.equal(options.all, true, 'every address must be asked for, not only the first');
      const answer = answers[hostname];
      if (answer === undefined)
        return callback(Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' }), []);
      if (answer instanceof Error) return callback(answer, []);
      callback(null, answer);
    };
    return { resolver, asked };
  };

  const lookupResult = (
    policy: EgressPolicy,
    answers: Record<string, Answer>,
    hostname: string,
    options: LookupOptions = { all: true },
  ): Promise<{ error: (Error & { code?: string }) | null; address: unknown; family?: number }> => {
    const { resolver } = resolverFor(answers);
    const lookup = createEgressLookup(policy, resolver);
    return new Promise((resolve) =>
      lookup(hostname, options, (error, address, family) => resolve({ error, address, family })),
    );
  };

  it('refuses a name that resolves to the metadata address (DNS rebinding)', async () => {
    const { error } = await lookupResult(
      open,
      { 'rebind.test': [{ address: '169.254.169.254', family: 4 }] },
      'rebind.test',
    );
    assert.equal(error?.code, EGRESS_REFUSED);
    assert.equal(
      error?.message,
      'egress to rebind.test (resolves to 169.254.169.254) refused: link-local and cloud metadata addresses are blocked (set allowLinkLocal to permit)',
    );
  });

  it('refuses when any of the addresses is blocked, and sees through mapped IPv6 answers', async () => {
    const mixed = await lookupResult(
      open,
      {
        'mixed.test': [
          { address: '93.184.216.34', family: 4 },
          { address: 'fe80::1', family: 6 },
        ],
      },
      'mixed.test',
    );
    assert.match(mixed.error?.message ?? '', /resolves to fe80::1/);
    const mapped = await lookupResult(
      open,
      { 'mapped.test': [{ address: '::ffff:a9fe:a9fe', family: 6 }] },
      'mapped.test',
    );
    assert.match(mapped.error?.message ?? '', /resolves to 169\.254\.169\.254/);
  });

  it('answers in the shape asked for when the addresses pass', async () => {
    const answers = { 'models.test': [{ address: '127.0.0.1', family: 4 }] };
    const all = await lookupResult(open, answers, 'models.test', { all: true });
    assert.equal(all.error, null);
    assert.deepEqual(all.address, [{ address: '127.0.0.1', family: 4 }]);
    const single = await lookupResult(open, answers, 'models.test', {});
    assert.equal(single.address, '127.0.0.1');
    assert.equal(single.family, 4);
  });

  it('applies address entries of the allow-list to resolved addresses, and name entries to names', async () => {
    const policy = { allowHosts: ['10.0.0.0/8', '*.corp.example'], allowLinkLocal: false };
    const answers: Record<string, Answer> = {
      'inside.test': [{ address: '10.2.3.4', family: 4 }],
      'outside.test': [{ address: '8.8.8.8', family: 4 }],
      'svc.corp.example': [{ address: '8.8.8.8', family: 4 }],
      'bad.corp.example': [{ address: '169.254.169.254', family: 4 }],
    };
    assert.equal((await lookupResult(policy, answers, 'inside.test')).error, null);
    assert.match(
      (await lookupResult(policy, answers, 'outside.test')).error?.message ?? '',
      /not in the egress allow-list/,
    );
    assert.equal((await lookupResult(policy, answers, 'svc.corp.example')).error, null);
    // An allow-listed name is still not allowed to lead to the metadata service.
    assert.match(
      (await lookupResult(policy, answers, 'bad.corp.example')).error?.message ?? '',
      /link-local/,
    );
  });

  it('passes resolver errors through unchanged', async () => {
    const failure = Object.assign(new Error('getaddrinfo EAI_AGAIN flaky.test'), { code: 'EAI_AGAIN' });
    const { error } = await lookupResult(open, { 'flaky.test': failure }, 'flaky.test');
    assert.equal(error, failure);
  });
});

describe('egressPolicyFromEnvironment', () => {
  it('reads the comma list and the link-local flag', () => {
    assert.deepEqual(egressPolicyFromEnvironment({}), { allowHosts: [], allowLinkLocal: false });
    assert.deepEqual(
      egressPolicyFromEnvironment({
        TRIPLINE_EGRESS_ALLOW_HOSTS: ' models.example.com, *.corp.example,,10.0.0.0/8 ,2001:db8::/32',
        TRIPLINE_EGRESS_ALLOW_LINK_LOCAL: 'true',
      }),
      {
        allowHosts: ['models.example.com', '*.corp.example', '10.0.0.0/8', '2001:db8::/32'],
        allowLinkLocal: true,
      },
    );
    assert.equal(
      egressPolicyFromEnvironment({ TRIPLINE_EGRESS_ALLOW_LINK_LOCAL: 'false' }).allowLinkLocal,
      false,
    );
  });

  it('rejects values it cannot read, naming the variable', () => {
    assert.throws(
      () => egressPolicyFromEnvironment({ TRIPLINE_EGRESS_ALLOW_LINK_LOCAL: 'yes' }),
      /TRIPLINE_EGRESS_ALLOW_LINK_LOCAL must be "true" or "false"/,
    );
    assert.throws(
      () => egressPolicyFromEnvironment({ TRIPLINE_EGRESS_ALLOW_HOSTS: '10.0.0.0/33' }),
      /TRIPLINE_EGRESS_ALLOW_HOSTS: .*"10\.0\.0\.0\/33" is not a valid CIDR/,
    );
    assert.throws(
      () => egressPolicyFromEnvironment({ TRIPLINE_EGRESS_ALLOW_HOSTS: 'http://models.example.com:8000' }),
      /TRIPLINE_EGRESS_ALLOW_HOSTS: .*no ports or schemes/,
    );
  });
});

describe('redactAdapterConfig', () => {
  it('redacts secret headers and URL passwords and leaves the rest readable', () => {
    const config: AdapterConfig = {
      kind: 'openai-chat',
      url: 'https://user:s3cret@llm.example.com/v1?api_key=abc123&region=eu',
      model: 'gpt-x',
      headers: {
        Authorization: 'Bearer sk-live-1',
        'X-Api-Key': 'k1',
        'api-key': 'k2',
        Cookie: 'session=1',
        'X-Auth-Token': 't',
        'X-Client-Secret': 's',
        'Ocp-Apim-Subscription-Key': 'k3',
        'Content-Type': 'application/json',
        'X-Request-Source': 'tripline',
      },
    };
    const redacted = redactAdapterConfig(config, 'admin');
    assert.deepEqual(redacted, {
      kind: 'openai-chat',
      url: `https://user:${REDACTED}@llm.example.com/v1?api_key=${REDACTED}&region=eu`,
      model: 'gpt-x',
      headers: {
        Authorization: REDACTED,
        'X-Api-Key': REDACTED,
        'api-key': REDACTED,
        Cookie: REDACTED,
        'X-Auth-Token': REDACTED,
        'X-Client-Secret': REDACTED,
        'Ocp-Apim-Subscription-Key': REDACTED,
        'Content-Type': 'application/json',
        'X-Request-Source': 'tripline',
      },
    });
    // A copy: the adapter still needs the real values.
    assert.equal(config.headers?.Authorization, 'Bearer sk-live-1');
    assert.equal(config.url, 'https://user:s3cret@llm.example.com/v1?api_key=abc123&region=eu');
  });

  it('redacts credentials in a custom request template but keeps the input placeholder', () => {
    const redacted = redactAdapterConfig(
      {
        kind: 'custom-json',
        url: 'http://models.internal/predict',
        requestTemplate: {
          api_key: 'abc',
          inputs: [{ text: '{{input}}' }],
          prompt_key: '{{input}}',
          options: { top_k: 5 },
        },
        responsePaths: { label: 'result.label' },
      },
      'admin',
    );
    assert.deepEqual(redacted, {
      kind: 'custom-json',
      url: 'http://models.internal/predict',
      requestTemplate: {
        api_key: REDACTED,
        inputs: [{ text: '{{input}}' }],
        prompt_key: '{{input}}',
        options: { top_k: 5 },
      },
      responsePaths: { label: 'result.label' },
    });
  });

  it('leaves configs without secrets equal to the original', () => {
    const onnx: AdapterConfig = { kind: 'onnx', path: '/models/sentiment-clean', batchSize: 16 };
    assert.deepEqual(redactAdapterConfig(onnx), onnx);
    const oip: AdapterConfig = { kind: 'oip-v2', url: 'http://127.0.0.1:8000', modelName: 'sentiment' };
    assert.deepEqual(redactAdapterConfig(oip), oip);
  });

  it('shows readers who are not admins only where the endpoint is: no header value, no URL beyond host and port', () => {
    const config: AdapterConfig = {
      kind: 'openai-chat',
      url: 'https://llm.example.com:8443/tenant-7f3a9c/v1?sig=abc&code=xyz',
      model: 'gpt-x',
      headers: { 'X-Auth': 'opaque-credential', 'X-Request-Source': 'tripline' },
    };
    assert.deepEqual(redactAdapterConfig(config, 'reader'), {
      kind: 'openai-chat',
      url: `https://llm.example.com:8443/${REDACTED}`,
      model: 'gpt-x',
      headers: { 'X-Auth': REDACTED, 'X-Request-Source': REDACTED },
    });
    assert.deepEqual(
      redactAdapterConfig(config),
      redactAdapterConfig(config, 'reader'),
      'reader is the default',
    );
    assert.equal(urlDestination('http://10.0.0.5:8000'), 'http://10.0.0.5:8000');
    assert.equal(urlDestination('http://user:pw@10.0.0.5:8000/'), `http://10.0.0.5:8000/${REDACTED}`);
  });
});

describe('model error answers', () => {
  it('keep the JSON error message of the model protocols and drop every other body, keeping its size', () => {
    assert.equal(describeErrorBody('{"error":"model \\"fraud\\" not found"}'), 'model "fraud" not found');
    assert.equal(
      describeErrorBody('{"error":{"message":"The model does not exist"}}'),
      'The model does not exist',
    );
    assert.equal(describeErrorBody('{"detail":"input 0 is not valid text"}'), 'input 0 is not valid text');
    assert.equal(
      describeErrorBody('<html><title>Jenkins</title>internal build console</html>'),
      '57-byte body not shown (not a JSON error)',
    );
    assert.equal(
      describeErrorBody('{"config":{"db":"postgres://10.0.0.7"}}'),
      '39-byte body not shown (not a JSON error)',
    );
    assert.equal(describeErrorBody(' '), 'empty body');
  });
});

describe('endpoint paths', () => {
  it('appends a protocol path to the path of the URL, before its query string', () => {
    assert.equal(
      withPath('https://models.example/base/?api-version=2&sig=x', '/v2/models/m/infer'),
      'https://models.example/base/v2/models/m/infer?api-version=2&sig=x',
    );
    assert.equal(withPath('http://127.0.0.1:8000', '/v2/models/m'), 'http://127.0.0.1:8000/v2/models/m');
    assert.equal(withPath('http://h/v1//', '/chat/completions'), 'http://h/v1/chat/completions');
    assert.equal(withPath('http://h/p#frag', '/x'), 'http://h/p/x#frag');
  });
});

describe("egress guard: the platform's own listeners (issue 11)", () => {
  // Ports no test of this file serves; registered the way bootstrap and the embedded store do.
  const apiPort = 48_181;
  const storePort = 48_182;
  registerOwnListener(apiPort, "this process's API");
  registerOwnListener(storePort, 'the embedded PostgreSQL');

  it('refuses this machine on its own ports under the default policy, whatever the host spelling', () => {
    for (const host of [
      '127.0.0.1',
      '127.9.9.9',
      'localhost',
      'api.localhost',
      '[::1]',
      '0.0.0.0',
      '[::ffff:127.0.0.1]',
    ]) {
      assert.match(
        refusal(`http://${host}:${apiPort}/v2/models/m/infer`),
        /this process's API, which Tripline never calls/,
      );
      assert.match(refusal(`https://${host}:${storePort}/`), /the embedded PostgreSQL/);
    }
    assert.match(
      refusal(`http://127.0.0.1:${apiPort}/`, { allowHosts: ['127.0.0.1'], allowLinkLocal: true }),
      /never calls/,
    );
  });

  it('still allows this machine on other ports and other hosts on the same port', () => {
    allowed(`http://127.0.0.1:${apiPort + 10}/v2/models/m/infer`);
    allowed(`http://10.1.2.3:${apiPort}/v2/models/m/infer`);
    allowed(`http://models.example:${apiPort}/`);
  });

  it('refuses a name that resolves to this machine when connecting to an own port', async () => {
    const resolver = (
      _host: string,
      _options: LookupAllOptions,
      callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
    ) => callback(null, [{ address: '127.0.0.1', family: 4 }]);
    const resolve = (port: number) =>
      new Promise<string>((done, fail) =>
        createEgressLookup(open, resolver, port)(
          'models.example',
          { all: false } as LookupOptions,
          (error, address) => (error ? fail(error) : done(String(address))),
        ),
      );
    await assert.rejects(
      resolve(storePort),
      /resolves to 127\.0\.0\.1\) refused: port 48182 on this machine is the embedded PostgreSQL/,
    );
    assert.equal(await resolve(storePort + 10), '127.0.0.1');
  });
});
