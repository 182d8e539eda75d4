/**
 * Instruction-like content aimed at the model: the text an attacker plants in a knowledge-base
 * document so that, once retrieved into a prompt, it is read as an instruction (indirect prompt
 * injection, OWASP LLM01:2025) rather than as reference material.
 *
 * Each pattern has an id, the reason a finding shows, and a weight: how strongly one match
 * suggests an injection on its own (0..1). The weights of a document's matched patterns combine
 * by noisy-or, so one strong sign ("ignore previous instructions", a chat-template token, hidden
 * tag characters) flags a document, while weak signs that also occur in honest documents (a
 * "User:" line of an FAQ transcript, "you must reply within 30 days") only ask for a review unless
 * they come together. Regular expressions run on a normalised copy of the text (NFKC, invisible
 * characters removed, hidden tag characters decoded and appended), so "ig\u200bnore previous
 * instructions" or full-width letters do not slip past; the character patterns run on the raw text.
 * Homoglyphs from other scripts (Cyrillic "о" for Latin "o") are not folded: a known gap.
 *
 * Every bounded repetition ({0,40}) keeps the expressions linear on adversarial input.
 */
export interface InjectionPattern {
  id: string;
  /** Why a match matters, as a finding shows it. */
  reason: string;
  /** How strongly one match suggests an injection on its own, 0..1. */
  weight: number;
  /** The matched text (with a little context), or undefined when the pattern does not match. */
  find(text: NormalisedText): string | undefined;
}

/** The forms of a document's text the patterns look at. */
export interface NormalisedText {
  raw: string;
  /** NFKC, invisible and tag characters removed, decoded tag text appended on its own line. */
  visible: string;
  /** ASCII hidden in Unicode tag characters (U+E0020..U+E007E), '' when there is none. */
  hiddenTags: string;
}

/** Characters that render as nothing: zero-width spaces and joiners, word joiner, invisible operators, BOM. */
const INVISIBLE = /[\u200B-\u200D\u2060-\u2064\uFEFF\u180E\u00AD]/g;
/** Unicode tag characters: invisible, and decodable to ASCII ("ASCII smuggling"). */
const TAG_CHARACTERS = /[\u{E0000}-\u{E007F}]/gu;
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/;

const MAX_EXCERPT = 160;

/** Makes invisible characters visible, so a finding shows what was hidden where. */
export function revealInvisible(text: string): string {
  return text.replace(
    /[\u200B-\u200D\u2060-\u2064\uFEFF\u180E\u00AD\u202A-\u202E\u2066-\u2069]|[\u{E0000}-\u{E007F}]/gu,
    (character) => `<U+${character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}>`,
  );
}

export function normaliseText(raw: string): NormalisedText {
  const hiddenTags = [...raw.matchAll(TAG_CHARACTERS)]
    .map((match) => {
      const code = match[0].codePointAt(0)! - 0xe0000;
      return code >= 0x20 && code <= 0x7e ? String.fromCharCode(code) : '';
    })
    .join('');
  const stripped = raw.normalize('NFKC').replace(TAG_CHARACTERS, '').replace(INVISIBLE, '');
  return { raw, visible: hiddenTags ? `${stripped}\n${hiddenTags}` : stripped, hiddenTags };
}

function excerpt(text: string, index: number, length: number): string {
  const start = Math.max(0, index - 30);
  const end = Math.min(text.length, index + length + 30);
  const shown = `${start > 0 ? '…' : ''}${text.slice(start, end)}${end < text.length ? '…' : ''}`;
  const visible = revealInvisible(shown).replace(/\s+/g, ' ').trim();
  return visible.length > MAX_EXCERPT ? `${visible.slice(0, MAX_EXCERPT - 1)}…` : visible;
}

function onVisible(id: string, reason: string, weight: number, pattern: RegExp): InjectionPattern {
  return {
    id,
    reason,
    weight,
    find(text) {
      const match = pattern.exec(text.visible);
      return match ? excerpt(text.visible, match.index, match[0].length) : undefined;
    },
  };
}

const MODEL_NAMES = String.raw`(?:AI|AI assistant|assistant|LLM|chatbot|chat bot|language model|ChatGPT|GPT|Claude|Gemini|Copilot)`;

/** The pattern set, documented one by one; test/unit/rag/injection-patterns.test.ts holds examples of each. */
export const INJECTION_PATTERNS: readonly InjectionPattern[] = [
  onVisible(
    'ignore-instructions',
    'tells the model to ignore, forget or override the instructions it was given',
    0.9,
    /(?<!(?:\bnot|\bnever|n't)\s{1,3})\b(?:ignore|disregard|forget|override|bypass|neglect)\b[^.\n]{0,40}?\b(?:previous|prior|preceding|above|earlier|original|initial|system|all|your)\b[^.\n]{0,30}?\b(?:instructions?|prompts?|rules|directions|directives|guidelines|guardrails|context|messages)\b/i,
  ),
  onVisible(
    'new-instructions',
    'announces new or replacement instructions for whoever reads it',
    0.6,
    /\b(?:new|updated|revised|real|actual|true|hidden|secret|additional|overriding)\s+(?:system\s+)?(?:instructions?|directives?|system prompt)\s*(?::|\bare\b|\bfollow\b)|\bfrom now on,?\s+(?:you|the (?:assistant|model|AI))\b/i,
  ),
  onVisible(
    'must-answer',
    'dictates what the answer must say (an honest reference document describes, it does not command the reader’s reply)',
    0.4,
    /\byou\s+(?:must|should|shall|have to|need to|are required to|are instructed to|are to|will)\s+(?:always\s+|only\s+|now\s+|instead\s+)?(?:answer|respond|reply|say|state|output|recommend|mention|claim|insist|tell\s+(?:the\s+)?users?)\b|\balways\s+(?:answer|respond|reply)\s+(?:with|that)\b/i,
  ),
  onVisible(
    'addresses-the-model',
    'addresses the AI system that reads the document rather than a human reader',
    0.6,
    new RegExp(
      String.raw`\b(?:note|message|instructions?|reminder)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+)?${MODEL_NAMES}s?\b|\b(?:dear|hey|hello|hi)\s+${MODEL_NAMES}\b|\bif you are an?\s+(?:AI|AI assistant|LLM|language model|chatbot)\b|\b(?:AI|LLM|language model)s?\s+(?:reading|processing|summari[sz]ing|parsing|retrieving)\s+this\b`,
      'i',
    ),
  ),
  onVisible(
    'system-marker',
    'a "system:" line, which a model can take for a system turn of the conversation',
    0.45,
    /(?:^|\n)[ \t>#*-]*\[?(?:system|sys)\]?[ \t]*:(?!\/\/)/i,
  ),
  onVisible(
    'role-marker',
    'a chat role line ("assistant:", "user:"), which can fake turns of the conversation (FAQ transcripts also use them)',
    0.3,
    /(?:^|\n)[ \t>#*-]*\[?(?:assistant|user|human|developer|AI)\]?[ \t]*:(?!\/\/)/i,
  ),
  onVisible(
    'chat-template-token',
    'a chat-template control token (<|im_start|>, [INST], <<SYS>>, <system>): prompt syntax, not document content',
    0.8,
    /<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id|begin_of_text)\|>|\[\/?INST\]|<<\/?SYS>>|<\/?(?:system|system_prompt|instructions?)>|###\s*(?:Instruction|System|Response)\s*:/i,
  ),
  {
    id: 'hidden-characters',
    reason:
      'zero-width or invisible characters, which hide text from a human reviewer but not from the model',
    weight: 0.5,
    find(text) {
      // A byte-order mark opening the text and joiners inside emoji or non-Latin words are normal.
      let count = 0;
      let first = -1;
      for (const match of text.raw.matchAll(INVISIBLE)) {
        const index = match.index;
        if (index === 0 && match[0] === '\uFEFF') continue;
        if (match[0] === '\u200D' || match[0] === '\u200C' || match[0] === '\u00AD') {
          const before = text.raw.charCodeAt(index - 1);
          const after = text.raw.charCodeAt(index + 1);
          const latin = (code: number) => (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
          if (!(latin(before) && latin(after))) continue;
        }
        count++;
        if (first < 0) first = index;
      }
      return count === 0 ? undefined : `${count} invisible character(s): ${excerpt(text.raw, first, 1)}`;
    },
  },
  {
    id: 'bidi-controls',
    reason:
      'bidirectional control characters, which make the displayed text differ from what the model reads',
    weight: 0.4,
    find(text) {
      const match = BIDI_CONTROLS.exec(text.raw);
      return match ? excerpt(text.raw, match.index, 1) : undefined;
    },
  },
  {
    id: 'tag-characters',
    reason:
      'ASCII hidden in invisible Unicode tag characters ("ASCII smuggling"); the decoded text is also checked',
    weight: 0.9,
    find(text) {
      if (!text.hiddenTags) return undefined;
      const shown = text.hiddenTags.length > 120 ? `${text.hiddenTags.slice(0, 119)}…` : text.hiddenTags;
      return `hidden text: "${shown}"`;
    },
  },
  {
    id: 'hidden-html',
    reason:
      'HTML or CSS that hides text from readers (display:none, zero size or opacity, white text, hidden)',
    weight: 0.5,
    find(text) {
      const match =
        /<[a-z][^>]{0,300}?\bstyle\s*=\s*["'][^"']{0,300}?(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:\.0+)?(?:px|pt|em|rem|%)?\s*(?:[;"'!]|$)|opacity\s*:\s*0(?:\.0+)?\s*(?:[;"'!]|$)|color\s*:\s*(?:white|#fff(?:fff)?\b|rgba?\(\s*255\s*,\s*255\s*,\s*255))|<[a-z][^>]{0,300}?\shidden(?:\s|>|=)/i.exec(
          text.raw,
        );
      return match ? excerpt(text.raw, match.index, match[0].length) : undefined;
    },
  },
  onVisible(
    'exfiltration',
    'asks for conversation data to be sent out, or embeds an image link with a placeholder to be filled in (data exfiltration when rendered)',
    0.6,
    /!\[[^\]\n]{0,200}\]\(\s*<?https?:\/\/[^)\s]{1,500}[?&][^)\s]{0,500}(?:\{|%7B|\$\(|\[[A-Z_]{2,}\]|<[a-z_]{2,}>)[^)\s]{0,500}\)|\b(?:send|post|forward|upload|leak|exfiltrate|append)\b[^.\n]{0,40}?\b(?:conversation|chat history|previous messages|user'?s? data|personal data|passwords?|api keys?|credentials|secrets?|tokens?)\b[^.\n]{0,40}?\b(?:to|into)\b[^.\n]{0,20}?(?:https?:\/\/|www\.|\S+@\S+\.)/i,
  ),
  onVisible(
    'jailbreak',
    'known jailbreak phrasing (DAN, developer mode, no restrictions)',
    0.6,
    /\b(?:jailbreak(?:ed|ing)?|DAN mode|developer mode (?:enabled|on)|do anything now|without (?:any )?(?:ethical|moral|safety) (?:guidelines|restrictions|filters)|(?:ignore|disable) (?:all )?(?:safety|content) (?:filters|policies|guidelines))\b/i,
  ),
  onVisible(
    'conceal',
    'tells the reader to keep something from the user (a poisoned answer hides its source)',
    0.35,
    /\b(?:do not|don't|never|must not)\s+(?:mention|reveal|tell|disclose|cite|show|acknowledge)\b[^.\n]{0,40}?\b(?:to the user|the user|these instructions|this instruction|the source|that you)\b/i,
  ),
  onVisible(
    'prompt-leak',
    'asks the model to reveal its system prompt or instructions',
    0.6,
    /\b(?:reveal|print|repeat|output|show|display|leak|dump)\b[^.\n]{0,30}?\b(?:system prompt|your (?:instructions|prompt|rules)|initial (?:prompt|instructions)|hidden (?:prompt|instructions)|developer (?:message|prompt))\b/i,
  ),
  onVisible(
    'role-override',
    'tries to give the model a new identity or role',
    0.45,
    /\b(?:you are now|act as|pretend (?:to be|you are)|role-?play as)\b[^.\n]{0,40}?\b(?:AI|assistant|chatbot|unrestricted|unfiltered|jailbroken|evil|DAN)\b/i,
  ),
];

export interface InjectionFinding {
  pattern: string;
  reason: string;
  weight: number;
  /** The matched text with some context, invisible characters shown as <U+XXXX>. */
  excerpt: string;
}

/** Every pattern the text matches, strongest first. */
export function findInjections(text: string): InjectionFinding[] {
  const normalised = normaliseText(text);
  const findings: InjectionFinding[] = [];
  for (const pattern of INJECTION_PATTERNS) {
    const found = pattern.find(normalised);
    if (found !== undefined)
      findings.push({ pattern: pattern.id, reason: pattern.reason, weight: pattern.weight, excerpt: found });
  }
  return findings.sort((a, b) => b.weight - a.weight);
}

/** Noisy-or of independent pieces of evidence: 1 − Π(1 − wᵢ). */
export function combineWeights(weights: readonly number[]): number {
  return 1 - weights.reduce((remaining, weight) => remaining * (1 - Math.min(1, Math.max(0, weight))), 1);
}
