import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { CommanderError, type Command } from 'commander';
import type { ApiClient } from './api-client';

interface EvidenceSummary {
  model: { id: string; name: string };
  sections: Record<string, { total?: number; items?: unknown[] }>;
  frameworks: { name: string; controls: { id: string; title: string; status: string; gaps: string[] }[] }[];
}

/** `tripline evidence MODEL [--out pack.html|pack.json]`: the model's evidence pack from the API. */
export function registerEvidenceCommand(
  program: Command,
  context: { client: () => ApiClient; json: () => boolean },
): void {
  program
    .command('evidence <model>')
    .description(
      'export the evidence pack of a model (evaluations, alerts, dataset provenance, manifests, verifications, ' +
        'mapped to OWASP LLM Top 10 2025, NIST AI RMF 1.0 and the EU AI Act): a self-contained HTML page or JSON',
    )
    .option('--out <file>', 'write the pack to this file; .html writes the page, anything else JSON')
    .option('--format <format>', 'json or html (default: from --out, else json)')
    .action(async (model: string, options: { out?: string; format?: string }) => {
      const format = options.format ?? (options.out?.toLowerCase().endsWith('.html') ? 'html' : 'json');
      if (format !== 'json' && format !== 'html')
        throw new CommanderError(2, 'tripline.usage', `--format must be json or html, not "${format}"`);
      const route = `/v1/models/${encodeURIComponent(model)}/evidence?format=${format}`;
      const body = await context.client().request<unknown>('GET', route);
      if (options.out) {
        writeFileSync(options.out, typeof body === 'string' ? body : `${JSON.stringify(body, null, 2)}\n`);
        if (!context.json())
          process.stdout.write(`evidence pack of ${model} written to ${path.resolve(options.out)}\n`);
        return;
      }
      if (format === 'html' || context.json()) {
        process.stdout.write(typeof body === 'string' ? body : `${JSON.stringify(body, null, 2)}\n`);
        return;
      }
      const pack = body as EvidenceSummary;
      const write = (line = '') => process.stdout.write(`${line}\n`);
      write(`evidence pack of ${pack.model.name} (${pack.model.id})`);
      for (const [name, section] of Object.entries(pack.sections))
        if (section.total !== undefined || section.items)
          write(`  ${name.padEnd(14)} ${section.total ?? section.items?.length}`);
      for (const framework of pack.frameworks) {
        write();
        write(framework.name);
        for (const control of framework.controls)
          write(`  ${control.status.padEnd(14)} ${control.id.padEnd(12)} ${control.title}`);
      }
    });
}
