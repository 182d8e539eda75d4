import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedRequest {
  path: string;
  at: number;
  headers: http.IncomingHttpHeaders;
  /** The raw body, exactly as it came over the wire: what a signature is checked against. */
  raw: string;
  json: unknown;
}

/**
 * A real HTTP server standing in for webhook, Slack and PagerDuty endpoints: records every
 * request per path and answers what the test set for that path (200 by default).
 */
export class HttpReceiver {
  readonly requests: ReceivedRequest[] = [];
  private readonly answers = new Map<string, { status: number; body: string } | 'hang'>();
  private server?: http.Server;

  answer(path: string, status: number, body = ''): void {
    this.answers.set(path, { status, body });
  }

  /** Requests to this path get no answer at all, as from a receiver that hangs. */
  hang(path: string): void {
    this.answers.set(path, 'hang');
  }

  at(path: string): ReceivedRequest[] {
    return this.requests.filter((request) => request.path === path);
  }

  async start(port = 0): Promise<string> {
    this.server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(raw);
        } catch {
          json = undefined;
        }
        const path = (request.url ?? '/').split('?')[0];
        this.requests.push({ path, at: Date.now(), headers: request.headers, raw, json });
        const answer = this.answers.get(path) ?? { status: 200, body: 'ok' };
        if (answer === 'hang') return;
        response.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
  /** Header lines unfolded, body quoted-printable decoded: the text a person reads. */
  text: string;
}

/** Unfolds header lines and decodes a quoted-printable body (what nodemailer sends for text). */
function readable(raw: string): string {
  const split = raw.indexOf('\r\n\r\n');
  const headers = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const body = raw.slice(split + 4);
  const decoded = /content-transfer-encoding:\s*quoted-printable/i.test(headers)
    ? Buffer.from(
        body
          .replace(/=\r\n/g, '')
          .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
        'latin1',
      ).toString('utf8')
    : body;
  return `${headers}\r\n\r\n${decoded}`;
}

/** A real SMTP server (the smtp-server package) keeping every message it accepts. */
export class SmtpReceiver {
  readonly messages: ReceivedMail[] = [];
  private readonly server = new SMTPServer({
    authOptional: true,
    // Plain SMTP on loopback: the test is about what is sent, not about certificates.
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData: (stream, session, callback) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        this.messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((recipient) => recipient.address),
          raw,
          text: readable(raw),
        });
        callback();
      });
    },
  });

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
