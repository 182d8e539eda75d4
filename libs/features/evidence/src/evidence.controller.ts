import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { z } from 'zod';
import type { AuthenticatedRequest } from '@tripline/auth';
import { sendAsHtmlReport, ZodValidationPipe } from '@tripline/http';
import { modelIdSchema } from '@tripline/registry';
import { buildEvidencePack } from './evidence-pack';
import { EvidenceService } from './evidence.service';
import { renderEvidencePackHtml } from './render-html';

const formatSchema = z.enum(['json', 'html'], { error: 'expected format json or html' }).default('json');

@ApiTags('models')
@ApiBearerAuth()
@Controller('v1/models')
export class EvidenceController {
  constructor(private readonly evidence: EvidenceService) {}

  @Get(':id/evidence')
  @ApiOperation({
    summary:
      'Evidence pack of a model: evaluations, alerts, dataset provenance, manifests and verifications, mapped to ' +
      'OWASP Top 10 for LLM Applications 2025 (LLM04 Data and Model Poisoning), NIST AI RMF 1.0 (MEASURE 2.x, ' +
      'MANAGE 2.x/4.x) and the EU AI Act (Art. 10, 15, 72); ?format=html for a self-contained page',
  })
  @ApiQuery({ name: 'format', required: false, enum: ['json', 'html'] })
  async pack(
    @Param('id', new ZodValidationPipe(modelIdSchema)) id: string,
    @Query('format', new ZodValidationPipe(formatSchema)) format: z.infer<typeof formatSchema>,
    @Req() request: AuthenticatedRequest,
    @Res({ passthrough: true }) response: Response,
  ) {
    const pack = buildEvidencePack(await this.evidence.collect(id, request.principal?.name ?? null));
    if (format === 'json') return pack;
    sendAsHtmlReport(response);
    return renderEvidencePackHtml(pack);
  }
}
