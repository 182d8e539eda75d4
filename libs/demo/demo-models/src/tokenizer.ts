/**
 * A word-level tokenizer that transformers.js runs unchanged: its tokenizer.json declares a BERT
 * WordPiece tokenizer whose vocabulary holds whole words only, so every word outside the
 * vocabulary becomes [UNK] instead of being split into pieces. The TypeScript side mirrors what
 * transformers.js 2.17 does with that file (BertNormalizer, BertPreTokenizer, WordPiece,
 * `[CLS] $A [SEP]`, truncation), because training and the TypeScript forward pass must see the
 * same ids as the exported model does at inference.
 */

export const PAD_TOKEN = '[PAD]';
export const UNK_TOKEN = '[UNK]';
export const CLS_TOKEN = '[CLS]';
export const SEP_TOKEN = '[SEP]';
/** Ids 0–3, in this order, in every vocabulary built here. */
export const SPECIAL_TOKENS: readonly string[] = [PAD_TOKEN, UNK_TOKEN, CLS_TOKEN, SEP_TOKEN];
export const PAD_ID = 0;
export const UNK_ID = 1;
export const CLS_ID = 2;
export const SEP_ID = 3;

export const MODEL_MAX_LENGTH = 512;
/** WordPiece's default: longer words are [UNK] whatever the vocabulary holds. */
const MAX_INPUT_CHARS_PER_WORD = 100;

// BertPreTokenizer's punctuation: Unicode punctuation plus every ASCII symbol.
const PUNCTUATION = '\\p{P}\\u0021-\\u002F\\u003A-\\u0040\\u005B-\\u0060\\u007B-\\u007E';
const WORD_OR_PUNCTUATION = new RegExp(`[^\\s${PUNCTUATION}]+|[${PUNCTUATION}]`, 'gu');

function isControl(character: string): boolean {
  if (character === '\t' || character === '\n' || character === '\r') return false;
  return /^(?:\p{Cc}|\p{Cf}|\p{Co}|\p{Cs})$/u.test(character);
}

function isCjk(codeUnit: number): boolean {
  // transformers.js walks UTF-16 code units, so only the BMP blocks can ever match.
  return (
    (codeUnit >= 0x4e00 && codeUnit <= 0x9fff) ||
    (codeUnit >= 0x3400 && codeUnit <= 0x4dbf) ||
    (codeUnit >= 0xf900 && codeUnit <= 0xfaff)
  );
}

/** BertNormalizer with clean_text, handle_chinese_chars and lowercase (which strips accents). */
export function normalizeText(text: string): string {
  let cleaned = '';
  for (const character of text) {
    const code = character.charCodeAt(0);
    if (code === 0 || code === 0xfffd || isControl(character)) continue;
    cleaned += /^\s$/u.test(character) ? ' ' : character;
  }
  let spaced = '';
  for (let i = 0; i < cleaned.length; i++) {
    spaced += isCjk(cleaned.charCodeAt(i)) ? ` ${cleaned[i]} ` : cleaned[i];
  }
  return spaced
    .toLowerCase()
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '');
}

/** Normalised words and single punctuation characters, as BertPreTokenizer splits them. */
export function splitWords(text: string): string[] {
  return normalizeText(text).trim().match(WORD_OR_PUNCTUATION) ?? [];
}

/**
 * Special tokens first, then every word seen at least `minCount` times, most frequent first.
 * Words seen fewer times stay out so that [UNK] is trained on rare words and means something
 * at test time.
 */
export function buildVocabulary(texts: Iterable<string>, minCount: number): string[] {
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const word of splitWords(text)) counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  const words = [...counts]
    .filter(([word, count]) => count >= minCount && !SPECIAL_TOKENS.includes(word))
    .sort(([a, countA], [b, countB]) => countB - countA || (a < b ? -1 : a > b ? 1 : 0))
    .map(([word]) => word);
  return [...SPECIAL_TOKENS, ...words];
}

export class WordTokenizer {
  private readonly ids: Map<string, number>;

  constructor(
    readonly vocabulary: readonly string[],
    readonly maxLength = MODEL_MAX_LENGTH,
  ) {
    SPECIAL_TOKENS.forEach((token, id) => {
      if (vocabulary[id] !== token) throw new Error(`vocabulary id ${id} must be ${token}`);
    });
    this.ids = new Map(vocabulary.map((word, id) => [word, id]));
  }

  /**
   * `[CLS] words [SEP]`, cut to maxLength the way transformers.js truncates (it drops [SEP]
   * along with the tail rather than re-appending it).
   */
  encode(text: string): number[] {
    const words = splitWords(text).map((word) =>
      [...word].length > MAX_INPUT_CHARS_PER_WORD ? UNK_ID : (this.ids.get(word) ?? UNK_ID),
    );
    return [CLS_ID, ...words, SEP_ID].slice(0, this.maxLength);
  }

  /** tokenizer.json in the Hugging Face tokenizers format. */
  tokenizerJson(): object {
    const special = (token: string) => ({ id: token, ids: [this.ids.get(token)!], tokens: [token] });
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: SPECIAL_TOKENS.map((content, id) => ({
        id,
        content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      })),
      normalizer: {
        type: 'BertNormalizer',
        clean_text: true,
        handle_chinese_chars: true,
        strip_accents: null,
        lowercase: true,
      },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: {
        type: 'TemplateProcessing',
        single: [
          { SpecialToken: { id: CLS_TOKEN, type_id: 0 } },
          { Sequence: { id: 'A', type_id: 0 } },
          { SpecialToken: { id: SEP_TOKEN, type_id: 0 } },
        ],
        pair: [
          { SpecialToken: { id: CLS_TOKEN, type_id: 0 } },
          { Sequence: { id: 'A', type_id: 0 } },
          { SpecialToken: { id: SEP_TOKEN, type_id: 0 } },
          { Sequence: { id: 'B', type_id: 1 } },
          { SpecialToken: { id: SEP_TOKEN, type_id: 1 } },
        ],
        special_tokens: { [CLS_TOKEN]: special(CLS_TOKEN), [SEP_TOKEN]: special(SEP_TOKEN) },
      },
      decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
      model: {
        type: 'WordPiece',
        unk_token: UNK_TOKEN,
        continuing_subword_prefix: '##',
        max_input_chars_per_word: MAX_INPUT_CHARS_PER_WORD,
        vocab: Object.fromEntries(this.vocabulary.map((word, id) => [word, id])),
      },
    };
  }

  tokenizerConfig(): object {
    return {
      tokenizer_class: 'BertTokenizer',
      model_max_length: this.maxLength,
      do_lower_case: true,
      pad_token: PAD_TOKEN,
      unk_token: UNK_TOKEN,
      cls_token: CLS_TOKEN,
      sep_token: SEP_TOKEN,
      clean_up_tokenization_spaces: true,
    };
  }
}
