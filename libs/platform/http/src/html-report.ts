/**
 * Reports rendered as HTML (evidence packs, dataset scans) quote uploaded text and model answers,
 * all of it escaped; these headers make the browser refuse anything active even if an escape were
 * missed: no scripts, no requests, no framing, no content sniffing.
 */
export const HTML_REPORT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'";

export function sendAsHtmlReport(response: {
  type(type: string): unknown;
  setHeader(name: string, value: string): unknown;
}): void {
  response.type('text/html');
  response.setHeader('Content-Security-Policy', HTML_REPORT_POLICY);
  response.setHeader('X-Content-Type-Options', 'nosniff');
}
