import { BadRequestException } from '@nestjs/common';
import type { z } from 'zod';
import { scanKnowledgeBase, type KnowledgeBaseScanReport } from '@tripline/rag';
import type { ModelRegistry } from '@tripline/registry';
import type { ragScanRequestSchema } from './schemas';

/**
 * POST /v1/scans {type: "rag"}: the knowledge base in the request against the allow-list given,
 * or the model's stored one. A model without an allow-list is a 400: scanning against nothing
 * would call every source unapproved.
 */
export async function scanRagRequest(
  registry: ModelRegistry,
  body: z.output<typeof ragScanRequestSchema>,
): Promise<KnowledgeBaseScanReport & { model_id: string | null }> {
  let allowed = body.allowed_sources;
  if (body.model_id !== undefined) {
    const model = await registry.get(body.model_id);
    if (allowed === undefined) {
      if (!model.ragAllowedSources)
        throw new BadRequestException(
          `allowed_sources: model "${model.id}" has no rag_allowed_sources; send allowed_sources or set them with PATCH /v1/models/${model.id}`,
        );
      allowed = model.ragAllowedSources;
    }
  }
  const report = scanKnowledgeBase(
    body.documents.map((document) => ({
      id: document.id,
      source: document.source,
      text: document.text,
      ...(document.added_at !== undefined ? { addedAt: document.added_at } : {}),
    })),
    {
      allowedSources: allowed ?? [],
      queries: body.queries,
      knownSources: body.known_sources,
      newSince: body.new_since,
      topK: body.top_k,
      top: body.top,
    },
  );
  return { model_id: body.model_id ?? null, ...report };
}
