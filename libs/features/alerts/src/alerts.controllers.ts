import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Inject,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Query,
  Req,
} from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import { configAudience, RequireRole, type AuthenticatedRequest } from '@tripline/auth';
import { openApiSchema, ZodValidationPipe } from '@tripline/http';
import { AlertStore } from './alert-store';
import { AlertQueries, ChannelService, RuleService, SilenceService } from './alerts.services';
import { presentAlert, presentChannel, presentDelivery, presentRule, presentSilence } from './presenters';
import {
  alertActionSchema,
  alertFilterSchema,
  channelChangesSchema,
  deliveryFilterSchema,
  newChannelSchema,
  newRuleSchema,
  newSilenceSchema,
  ruleChangesSchema,
  ruleFilterSchema,
  silenceFilterSchema,
} from './schemas';
import { ALERTER_SETTINGS, type AlerterSettings } from './settings';

const uuid = new ParseUUIDPipe({ errorHttpStatusCode: 404 });
const who = (request: AuthenticatedRequest) => request.principal?.name ?? 'unknown';

@ApiTags('rules')
@ApiBearerAuth()
@Controller('v1/rules')
export class RulesController {
  constructor(private readonly rules: RuleService) {}

  @Post()
  @RequireRole('operator')
  @ApiOperation({
    summary: 'Create an alert rule',
    description:
      "metric: accuracy, macro_f1, expected_calibration_error, attack_success_rate, trigger_attack_success_rate (label trigger), flip_rate, confidence_shift, recall (label class), regressions, evaluation_failed, fingerprint_changed, drift.<metric>.<detector>, consumer_lag (labels group, topic), or any key of an evaluation message's metrics map. Defaults: severity warning, for_seconds 0, repeat_interval_seconds 14400 (0 never repeats), group_by [] (one notification per alert), channel_ids [] (every enabled channel).",
  })
  @ApiBody({ schema: openApiSchema(newRuleSchema) })
  async create(
    @Body(new ZodValidationPipe(newRuleSchema)) body: z.infer<typeof newRuleSchema>,
    @Req() request: AuthenticatedRequest,
  ) {
    return presentRule(await this.rules.create(body, who(request)));
  }

  @Get()
  @ApiOperation({
    summary: 'List rules (model_id: the rules that watch this model, including those for every model)',
  })
  async list(@Query(new ZodValidationPipe(ruleFilterSchema)) query: z.infer<typeof ruleFilterSchema>) {
    return {
      items: (await this.rules.list({ modelId: query.model_id, metric: query.metric })).map(presentRule),
    };
  }

  @Get(':id')
  async get(@Param('id', uuid) id: string) {
    return presentRule(await this.rules.get(id));
  }

  @Patch(':id')
  @RequireRole('operator')
  @ApiOperation({ summary: 'Change a rule; disabling it resolves its open alerts' })
  @ApiBody({ schema: openApiSchema(ruleChangesSchema) })
  async update(
    @Param('id', uuid) id: string,
    @Body(new ZodValidationPipe(ruleChangesSchema)) body: z.infer<typeof ruleChangesSchema>,
  ) {
    return presentRule(await this.rules.update(id, body));
  }

  @Delete(':id')
  @RequireRole('operator')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Delete a rule; its open alerts are resolved (and whoever was paged is told)' })
  async remove(@Param('id', uuid) id: string) {
    await this.rules.remove(id);
  }
}

@ApiTags('alerts')
@ApiBearerAuth()
@Controller('v1/alerts')
export class AlertsController {
  constructor(
    private readonly queries: AlertQueries,
    private readonly store: AlertStore,
    private readonly channels: ChannelService,
    @Inject(ALERTER_SETTINGS) private readonly settings: AlerterSettings,
  ) {}

  @Get()
  @ApiOperation({
    summary:
      'List alerts, newest first; state is a comma-separated list of pending, firing, acknowledged, resolved or open',
  })
  async list(@Query(new ZodValidationPipe(alertFilterSchema)) query: z.infer<typeof alertFilterSchema>) {
    const alerts = await this.queries.list({
      states: query.state,
      modelId: query.model_id,
      ruleId: query.rule_id,
      severity: query.severity,
      limit: query.limit,
      offset: query.offset,
    });
    return {
      items: alerts.map((alert) => presentAlert(alert, this.settings.publicUrl)),
      offset: query.offset,
    };
  }

  @Get(':id')
  @ApiOperation({
    summary: 'One alert: value against threshold and baseline, the evaluation run or window behind it, links',
  })
  async get(@Param('id', uuid) id: string) {
    return presentAlert(await this.store.get(id), this.settings.publicUrl);
  }

  @Post(':id/acknowledge')
  @RequireRole('operator')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Acknowledge a firing alert: repeats stop, channels (PagerDuty too) are told' })
  @ApiBody({ required: false, schema: openApiSchema(alertActionSchema.unwrap()) })
  async acknowledge(
    @Param('id', uuid) id: string,
    @Body(new ZodValidationPipe(alertActionSchema)) _body: z.infer<typeof alertActionSchema>,
    @Req() request: AuthenticatedRequest,
  ) {
    return presentAlert(await this.store.acknowledge(id, who(request)), this.settings.publicUrl);
  }

  @Post(':id/resolve')
  @RequireRole('operator')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Resolve an alert by hand; a later breach opens a new alert' })
  @ApiBody({ required: false, schema: openApiSchema(alertActionSchema.unwrap()) })
  async resolve(
    @Param('id', uuid) id: string,
    @Body(new ZodValidationPipe(alertActionSchema)) _body: z.infer<typeof alertActionSchema>,
    @Req() request: AuthenticatedRequest,
  ) {
    return presentAlert(await this.store.resolve(id, who(request)), this.settings.publicUrl);
  }

  @Get(':id/deliveries')
  @ApiOperation({ summary: 'Every notification of this alert, per channel: status, attempts, last error' })
  async deliveries(
    @Param('id', uuid) id: string,
    @Query(new ZodValidationPipe(deliveryFilterSchema)) query: z.infer<typeof deliveryFilterSchema>,
  ) {
    await this.store.get(id);
    return {
      items: (await this.channels.deliveriesOfAlert(id, query.status, query.limit)).map(presentDelivery),
    };
  }
}

@ApiTags('silences')
@ApiBearerAuth()
@Controller('v1/silences')
export class SilencesController {
  constructor(private readonly silences: SilenceService) {}

  @Post()
  @RequireRole('operator')
  @ApiOperation({
    summary:
      'Silence the alerts whose labels match every matcher (=, !=, =~, !~; regexes anchored) until ends_at (or for duration_seconds); matchers also see alertname, rule_id, severity and metric',
  })
  @ApiBody({ schema: openApiSchema(newSilenceSchema) })
  async create(
    @Body(new ZodValidationPipe(newSilenceSchema)) body: z.infer<typeof newSilenceSchema>,
    @Req() request: AuthenticatedRequest,
  ) {
    return presentSilence(await this.silences.create(body, who(request)));
  }

  @Get()
  @ApiOperation({ summary: 'List silences (status: active by default, pending, expired or all)' })
  async list(@Query(new ZodValidationPipe(silenceFilterSchema)) query: z.infer<typeof silenceFilterSchema>) {
    return { items: (await this.silences.list(query.status)).map(presentSilence) };
  }

  @Get(':id')
  async get(@Param('id', uuid) id: string) {
    return presentSilence(await this.silences.get(id));
  }

  @Delete(':id')
  @RequireRole('operator')
  @ApiOperation({ summary: 'Expire a silence now (it is kept, expired, as a record)' })
  async expire(@Param('id', uuid) id: string) {
    return presentSilence(await this.silences.expire(id));
  }
}

@ApiTags('channels')
@ApiBearerAuth()
@Controller('v1/channels')
export class ChannelsController {
  constructor(private readonly channels: ChannelService) {}

  @Post()
  @RequireRole('operator')
  @ApiOperation({
    summary: 'Create a notification channel: webhook (signed), slack, pagerduty or email',
    description:
      'Credentials (webhook secret and secret-looking headers, the Slack URL, the PagerDuty routing key, the SMTP password) are never returned: responses show "[redacted]", and "[redacted]" sent back in an update keeps the stored value, unless the update changes the destination (URL, events_url, SMTP host or port, allow_plaintext): then every credential must be sent again (400 names them). Only admins see URLs beyond scheme, host and port and header values; the create response shows them to its caller. SMTP requires TLS (STARTTLS or secure) unless allow_plaintext is true. Webhook requests carry X-Tripline-Timestamp and X-Tripline-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the secret>.',
  })
  @ApiBody({ schema: openApiSchema(newChannelSchema) })
  async create(@Body(new ZodValidationPipe(newChannelSchema)) body: z.infer<typeof newChannelSchema>) {
    // The caller just sent the URL and headers: showing them back tells nothing new.
    return presentChannel(await this.channels.create(body), 'admin');
  }

  @Get()
  async list(@Req() request: AuthenticatedRequest) {
    const audience = configAudience(request.principal);
    return { items: (await this.channels.list()).map((channel) => presentChannel(channel, audience)) };
  }

  @Get(':id')
  async get(@Param('id', uuid) id: string, @Req() request: AuthenticatedRequest) {
    return presentChannel(await this.channels.get(id), configAudience(request.principal));
  }

  @Patch(':id')
  @RequireRole('operator')
  @ApiBody({ schema: openApiSchema(channelChangesSchema) })
  async update(
    @Param('id', uuid) id: string,
    @Body(new ZodValidationPipe(channelChangesSchema)) body: z.infer<typeof channelChangesSchema>,
    @Req() request: AuthenticatedRequest,
  ) {
    return presentChannel(await this.channels.update(id, body), configAudience(request.principal));
  }

  @Delete(':id')
  @RequireRole('operator')
  @HttpCode(HttpStatus.NO_CONTENT)
  async remove(@Param('id', uuid) id: string) {
    await this.channels.remove(id);
  }

  @Get(':id/deliveries')
  @ApiOperation({
    summary: 'Notifications sent (or being retried, or failed) over this channel, newest first',
  })
  async deliveries(
    @Param('id', uuid) id: string,
    @Query(new ZodValidationPipe(deliveryFilterSchema)) query: z.infer<typeof deliveryFilterSchema>,
  ) {
    await this.channels.get(id);
    return {
      items: (await this.channels.deliveriesOfChannel(id, query.status, query.limit)).map(presentDelivery),
    };
  }
}
