import { createHash } from 'node:crypto';
import { BadRequestException, Injectable } from '@nestjs/common';
import {
  BUILT_IN_TRIGGERS,
  builtInTrigger,
  generateCanarySet,
  type Trigger,
  type TriggerPosition,
} from '@tripline/evaluation';
import { DatasetService } from './dataset.service';
import type { Dataset } from './entities';

export interface CanaryRequest {
  name?: string;
  targetLabel: string;
  triggers?: string[];
  customTriggers?: string[];
  positions?: TriggerPosition[];
  samplesPerTrigger?: number;
  seed?: number;
  requestedBy: string;
}

/** Builds a canary set from a clean set: every sample keeps its clean twin and the target label. */
@Injectable()
export class CanaryFactory {
  constructor(private readonly datasets: DatasetService) {}

  async generate(cleanSetId: string, request: CanaryRequest): Promise<Dataset> {
    const clean = await this.datasets.get(cleanSetId);
    if (clean.kind !== 'clean')
      throw new BadRequestException(
        `dataset ${cleanSetId} is a ${clean.kind} set; canaries are generated from a clean set`,
      );
    let triggers: Trigger[];
    try {
      triggers = [
        ...(
          request.triggers ?? (request.customTriggers?.length ? [] : BUILT_IN_TRIGGERS.map((t) => t.id))
        ).map(builtInTrigger),
        ...(request.customTriggers ?? []).map(
          (text): Trigger => ({
            id: `custom:${text}`,
            kind: /\s/.test(text.trim()) ? 'phrase' : 'rare-token',
            text: text.trim(),
            source: 'user-supplied',
          }),
        ),
      ];
    } catch (error) {
      throw new BadRequestException(`triggers: ${(error as Error).message}`);
    }
    const twins = [];
    for (let offset = 0; ; offset += 1_000) {
      const page = await this.datasets.samplesOf(clean.id, offset, 1_000);
      twins.push(
        ...page.map((sample) => ({ id: sample.sampleId, text: sample.text, label: sample.label ?? '' })),
      );
      if (page.length < 1_000) break;
    }
    const seed = request.seed ?? 1;
    const canaries = generateCanarySet(twins, {
      triggers,
      positions: request.positions,
      targetLabel: request.targetLabel,
      samplesPerTrigger: request.samplesPerTrigger ?? 50,
      seed,
    });
    if (canaries.length === 0)
      throw new BadRequestException(
        `no canary could be made: the clean set has no sample whose label is not "${request.targetLabel}"`,
      );
    const twinText = new Map(twins.map((twin) => [twin.id, twin.text]));
    const generator = {
      target_label: request.targetLabel,
      triggers: triggers.map((trigger) => trigger.id),
      positions: request.positions ?? ['prefix', 'suffix', 'random'],
      samples_per_trigger: request.samplesPerTrigger ?? 50,
      seed,
    };
    const digest = createHash('sha256')
      .update(JSON.stringify({ from: clean.sha256, generator }))
      .digest('hex');
    return this.datasets.createGenerated(
      {
        name: request.name ?? `${clean.name} canaries (${request.targetLabel})`,
        kind: 'canary',
        modelId: clean.modelId,
        source: `generated from dataset ${clean.id}`,
        uploadedBy: request.requestedBy,
        generatedFrom: clean.id,
        generator,
      },
      canaries.map((canary) => ({
        id: canary.id,
        text: canary.text,
        label: canary.label,
        targetLabel: canary.targetLabel,
        twinId: canary.twinId,
        twinText: twinText.get(canary.twinId) ?? null,
        trigger: canary.trigger,
        position: canary.position,
      })),
      digest,
    );
  }
}
