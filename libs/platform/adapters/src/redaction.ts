import { isSecretHeader, REDACTED, redactUrl, SECRET_NAME, urlDestination } from '@tripline/egress';
import type { AdapterConfig } from './model-adapter';

function redactTemplate(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactTemplate);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([name, inner]) => [
        name,
        // A credential baked into a request body ("api_key": "...") is as secret as a header;
        // the input placeholder is not a credential and stays readable.
        typeof inner === 'string' && SECRET_NAME.test(name) && !inner.includes('{{input}}')
          ? REDACTED
          : redactTemplate(inner),
      ]),
    );
  }
  return value;
}

/**
 * A copy of the config that is safe to return from the API or write to a log: secret header
 * values, URL passwords and secret query parameters, and credential-looking fields of a request
 * template become "[redacted]". For a `reader` (any role but admin) every header value and every
 * URL beyond scheme, host and port goes too: credentials hide where no name gives them away
 * (URL path tokens, `sig=` parameters, headers such as `X-Auth`).
 */
export function redactAdapterConfig<T extends AdapterConfig>(
  config: T,
  audience: 'admin' | 'reader' = 'reader',
): T {
  const copy = structuredClone(config) as T & { headers?: Record<string, string>; url?: string };
  if (copy.kind === 'onnx') return copy;
  const reader = audience === 'reader';
  if (copy.headers) {
    copy.headers = Object.fromEntries(
      Object.entries(copy.headers).map(([name, value]) => [
        name,
        reader || isSecretHeader(name) ? REDACTED : value,
      ]),
    );
  }
  if (typeof copy.url === 'string') copy.url = reader ? urlDestination(copy.url) : redactUrl(copy.url);
  if (copy.kind === 'custom-json') {
    (copy as { requestTemplate: unknown }).requestTemplate = redactTemplate(copy.requestTemplate);
  }
  return copy;
}
