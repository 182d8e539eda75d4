import { z } from 'zod';
import { feedbackSchema, inferenceEventSchema } from './inference-event';

/** The published JSON Schemas, generated from the zod schemas (what producers validate against). */
export function contractJsonSchemas(): Record<string, object> {
  const render = (schema: z.ZodType, id: string, title: string) => ({
    ...z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }),
    $id: `https://tripline.dev/schemas/${id}`,
    title,
  });
  return {
    'inference-event.v1.schema.json': render(
      inferenceEventSchema,
      'inference-event.v1.schema.json',
      'Tripline inference event v1',
    ),
    'feedback.v1.schema.json': render(feedbackSchema, 'feedback.v1.schema.json', 'Tripline feedback v1'),
  };
}
