import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhookSignature } from '@tripline/alert-rules';

export interface WebhookDelivery {
  verified: boolean;
  event: string;
  alerts: { rule_name?: string; state?: string }[];
}

export interface WebhookReceiver {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The far end of the demo's webhook channel, on loopback: what an on-call tool would be. It
 * checks the signature as a real receiver must, and tells the console what arrived, so the demo
 * shows the notification path (deliveries persisted, signed, retried) and not only the topic.
 */
export async function startWebhookReceiver(options: {
  port: number;
  secret: string;
  onDelivery: (delivery: WebhookDelivery) => void;
}): Promise<WebhookReceiver> {
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on('end', () => {
      if (request.method !== 'POST' || size > MAX_BODY_BYTES) {
        response.writeHead(request.method !== 'POST' ? 405 : 413).end();
        return;
      }
      const raw = Buffer.concat(chunks).toString('utf8');
      const verified = verifyWebhookSignature(
        options.secret,
        String(request.headers['x-tripline-signature'] ?? ''),
        String(request.headers['x-tripline-timestamp'] ?? ''),
        raw,
        Math.floor(Date.now() / 1000),
      );
      let alerts: WebhookDelivery['alerts'] = [];
      try {
        const body = JSON.parse(raw) as { alerts?: unknown };
        if (Array.isArray(body.alerts)) alerts = body.alerts as WebhookDelivery['alerts'];
      } catch {
        // Reported as unverified or empty below; the receiver never fails the sender over it.
      }
      options.onDelivery({ verified, event: String(request.headers['x-tripline-event'] ?? ''), alerts });
      // A bad signature is refused as a real receiver would; the alerter records the failure.
      response.writeHead(verified ? 204 : 401).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
