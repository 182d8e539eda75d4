/**
 * Size limits of the v1 contracts. They bound what one event can cost to validate, store and
 * scan; a producer that needs more is sending something other than an inference event.
 */
export const LIMITS = {
  idLength: 128,
  textLength: 32_768,
  labelLength: 128,
  scoreEntries: 1_000,
  featureEntries: 512,
  featureKeyLength: 128,
  featureStringLength: 1_024,
  /**
   * Dimension of `input.embedding`: 4,096 covers common sentence and LLM encoders (384 to 4,096)
   * and bounds an event's embedding at 32 KB as float64.
   */
  embeddingDimension: 4_096,
  metadataEntries: 64,
  metadataKeyLength: 128,
  metadataValueLength: 1_024,
  ragDocuments: 100,
  ragSourceLength: 512,
  maxLatencyMs: 3_600_000,
  /** Events per HTTP batch. */
  batchEvents: 10_000,
  /** Bytes per HTTP batch body: POST /v1/events, /v1/feedback, and /v1/scans (RAG documents, candidates). */
  batchBytes: 8 * 1024 * 1024,
  /** Bytes of any other JSON request body (keys, models, versions, rules, channels, ...). */
  jsonBodyBytes: 1024 * 1024,
  /**
   * Objects, arrays and strings (keys included) in one JSON request body, counted on the bytes
   * before it is parsed. JSON.parse spends about a microsecond on each (eight MB of "[]," held the
   * event loop for seconds); numbers cost next to nothing and are not counted. 10,000 events of a
   * dozen fields each hold about 200,000; the SDK's default batch (1 MB) can hold at most 350,000.
   */
  bodyValues: 250_000,
  /** Nesting of objects and arrays inside one item (an event, a dataset row). */
  itemDepth: 32,
  /**
   * Nesting of a whole JSON request body or upload line, checked on the bytes before they are
   * parsed. Deeper than any valid body: an item nested past itemDepth inside a batch still gets
   * its own answer naming the field; only bodies nested far past that are refused whole.
   */
  bodyDepth: 1_024,
  /** Bytes per line of a JSONL or CSV dataset upload. */
  uploadLineBytes: 1024 * 1024,
  /** Earliest and latest accepted event time (epoch ms): 2000-01-01 to 2100-01-01. */
  minTimestampMs: 946_684_800_000,
  maxTimestampMs: 4_102_444_800_000,
} as const;
