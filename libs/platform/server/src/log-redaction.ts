/** Query parameters that carry credentials when clients put a key in the URL. */
const CREDENTIAL_PARAMETERS = new Set(['api_key', 'apikey', 'api-key', 'key', 'token', 'access_token']);

/**
 * A request URL as it may be logged: the values of credential query parameters (`api_key`, `key`,
 * `token`, `access_token`, any case) become "[redacted]". Clients that cannot set headers put
 * keys there, and logs outlive keys. The rest of the URL is kept byte for byte.
 */
export function redactLoggedUrl(url: string): string {
  const query = url.indexOf('?');
  if (query < 0) return url;
  const fragment = url.indexOf('#', query);
  const end = fragment < 0 ? url.length : fragment;
  const parameters = url
    .slice(query + 1, end)
    .split('&')
    .map((parameter) => {
      const equals = parameter.indexOf('=');
      const rawName = equals < 0 ? parameter : parameter.slice(0, equals);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        // An undecodable name is compared as it is.
      }
      return CREDENTIAL_PARAMETERS.has(name.trim().toLowerCase()) ? `${rawName}=[redacted]` : parameter;
    });
  return `${url.slice(0, query)}?${parameters.join('&')}${url.slice(end)}`;
}
