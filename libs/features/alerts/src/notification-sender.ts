import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { Inject, Injectable } from '@nestjs/common';
import nodemailer from 'nodemailer';
import { assertEgressAllowed, createEgressLookup, EGRESS_REFUSED, egressPort } from '@tripline/egress';
import {
  channelSecrets,
  DEFAULT_PAGERDUTY_EVENTS_URL,
  emailMessage,
  pagerDutyEvent,
  scrubSecrets,
  describeReceiverAnswer,
  slackMessage,
  urlDestination,
  webhookRequest,
  type EmailConfig,
  type PagerDutyConfig,
  type SlackConfig,
  type WebhookConfig,
} from '@tripline/alert-rules';
import { parseRetryAfter } from '@tripline/retry';
import type { ChannelEntity, DeliveryEntity } from './entities';
import { ALERTER_SETTINGS, type AlerterSettings } from './settings';

/** What one attempt came to. `retryable` says whether the same notification may get through later. */
export type SendOutcome =
  | { ok: true; status: number | null }
  | { ok: false; retryable: boolean; error: string; status: number | null; retryAfterMs?: number };

const USER_AGENT = 'Tripline-Alerter/1';

/**
 * Sends one delivery over its channel, once; retries are the delivery worker's business, so that
 * every attempt is recorded. Every outbound connection passes the egress guard, on the URL and on
 * the address the name resolves to when the socket connects. Error texts are scrubbed of the
 * channel's credentials before they leave this class.
 */
@Injectable()
export class NotificationSender {
  constructor(@Inject(ALERTER_SETTINGS) private readonly settings: AlerterSettings) {}

  async send(channel: ChannelEntity, delivery: DeliveryEntity, attempt: number): Promise<SendOutcome> {
    const outcome = await this.dispatch(channel, delivery, attempt).catch(
      (error: unknown): SendOutcome => ({
        ok: false,
        retryable: false,
        error: `could not send: ${error instanceof Error ? error.message : String(error)}`,
        status: null,
      }),
    );
    if (outcome.ok) return outcome;
    return { ...outcome, error: scrubSecrets(outcome.error, channelSecrets(channel.kind, channel.config)) };
  }

  private dispatch(channel: ChannelEntity, delivery: DeliveryEntity, attempt: number): Promise<SendOutcome> {
    const notification = delivery.notification;
    switch (channel.kind) {
      case 'webhook': {
        const config = channel.config as WebhookConfig;
        const request = webhookRequest(config, notification, { id: delivery.id, attempt }, Date.now());
        return this.post(request.url, urlDestination(request.url), request.headers, request.body);
      }
      case 'slack': {
        const config = channel.config as SlackConfig;
        return this.post(
          config.webhook_url,
          urlDestination(config.webhook_url),
          { 'content-type': 'application/json' },
          JSON.stringify(slackMessage(notification)),
        );
      }
      case 'pagerduty': {
        const config = channel.config as PagerDutyConfig;
        const url = config.events_url ?? DEFAULT_PAGERDUTY_EVENTS_URL;
        const event = pagerDutyEvent(config, notification.event, notification.alerts[0]);
        return this.post(
          url,
          urlDestination(url),
          { 'content-type': 'application/json' },
          JSON.stringify(event),
        );
      }
      case 'email':
        return this.mail(channel.config as EmailConfig, delivery);
    }
  }

  private post(
    url: string,
    shown: string,
    headers: Record<string, string>,
    body: string,
  ): Promise<SendOutcome> {
    let target: URL;
    try {
      target = assertEgressAllowed(url, this.settings.egress);
    } catch (error) {
      return Promise.resolve({ ok: false, retryable: false, error: (error as Error).message, status: null });
    }
    const payload = Buffer.from(body);
    return new Promise<SendOutcome>((resolve) => {
      const transport = target.protocol === 'https:' ? https : http;
      const request = transport.request(
        target,
        {
          method: 'POST',
          headers: { 'user-agent': USER_AGENT, ...headers, 'content-length': payload.length },
          lookup: createEgressLookup(this.settings.egress, undefined, egressPort(target)),
          signal: AbortSignal.timeout(this.settings.requestTimeoutMs),
          agent: false,
        },
        (response) => {
          let text = '';
          let bytes = 0;
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            bytes += Buffer.byteLength(chunk);
            if (text.length < 4_096) text += chunk;
          });
          response.on('error', (error) =>
            resolve(networkFailure(shown, error, this.settings.requestTimeoutMs)),
          );
          response.on('end', () => {
            const status = response.statusCode ?? 0;
            if (status >= 200 && status < 300) return resolve({ ok: true, status });
            const retryAfter = parseRetryAfter(response.headers['retry-after']);
            resolve({
              ok: false,
              retryable: status === 408 || status === 425 || status === 429 || status >= 500,
              error: `POST ${shown} answered ${status}: ${describeReceiverAnswer(text, bytes)}`,
              status,
              ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }),
            });
          });
        },
      );
      request.on('error', (error) => resolve(networkFailure(shown, error, this.settings.requestTimeoutMs)));
      request.end(payload);
    });
  }

  private async mail(config: EmailConfig, delivery: DeliveryEntity): Promise<SendOutcome> {
    const shown = `smtp://${config.host}:${config.port}`;
    let address: string;
    try {
      assertEgressAllowed(
        `http://${isIP(config.host) === 6 ? `[${config.host}]` : config.host}:${config.port}/`,
        this.settings.egress,
      );
      // Connect to the address the guard approved, so a second resolution cannot rebind the name.
      address = await resolveGuarded(config.host, this.settings.egress, config.port);
    } catch (error) {
      const refused = (error as { code?: string }).code === EGRESS_REFUSED;
      return { ok: false, retryable: !refused, error: `${shown}: ${(error as Error).message}`, status: null };
    }
    const transport = nodemailer.createTransport({
      host: address,
      port: config.port,
      secure: config.secure,
      // Without TLS the password and the alerts cross the network in clear: only when the channel says so.
      requireTLS: !config.secure && config.allow_plaintext !== true,
      ...(isIP(config.host) ? {} : { servername: config.host }),
      auth: config.username ? { user: config.username, pass: config.password ?? '' } : undefined,
      connectionTimeout: this.settings.requestTimeoutMs,
      greetingTimeout: this.settings.requestTimeoutMs,
      socketTimeout: this.settings.requestTimeoutMs,
    });
    const message = emailMessage(delivery.notification);
    try {
      await transport.sendMail({
        from: config.from,
        to: config.to,
        subject: message.subject,
        text: message.text,
        headers: { 'X-Tripline-Delivery': delivery.id, 'X-Tripline-Event': delivery.event },
      });
      return { ok: true, status: null };
    } catch (error) {
      const failure = error as Error & { responseCode?: number; permanent?: boolean; code?: string };
      const noTls = failure.code === 'ETLS' && !config.secure && config.allow_plaintext !== true;
      const permanent =
        noTls || failure.permanent === true || failure.code === 'EAUTH' || failure.code === 'ECONFIG';
      return {
        ok: false,
        retryable: !permanent,
        error: noTls
          ? `${shown}: the server offers no STARTTLS and the channel requires TLS (set allow_plaintext: true to send in clear): ${failure.message}`
          : `${shown}: ${failure.message}`,
        status: failure.responseCode ?? null,
      };
    } finally {
      transport.close();
    }
  }
}

function networkFailure(shown: string, error: Error & { code?: string }, timeoutMs: number): SendOutcome {
  if (error.code === EGRESS_REFUSED)
    return { ok: false, retryable: false, error: error.message, status: null };
  const timedOut = error.name === 'TimeoutError' || error.name === 'AbortError';
  const what = timedOut
    ? `timed out after ${timeoutMs} ms`
    : `failed: ${error.message}${error.code && !error.message.includes(error.code) ? ` (${error.code})` : ''}`;
  return { ok: false, retryable: true, error: `POST ${shown} ${what}`, status: null };
}

function resolveGuarded(host: string, egress: AlerterSettings['egress'], port: number): Promise<string> {
  const lookup = createEgressLookup(egress, undefined, port);
  return new Promise((resolve, reject) => {
    lookup(host, { all: false }, (error, address) => {
      if (error) reject(error);
      else resolve(typeof address === 'string' ? address : address[0].address);
    });
  });
}
