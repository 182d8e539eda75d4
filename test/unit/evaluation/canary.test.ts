import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyTrigger,
  builtInTrigger,
  BUILT_IN_TRIGGERS,
  canaryId,
  CleanSample,
  generateCanarySet,
  mulberry32,
  Trigger,
} from '@tripline/evaluation';
import { syntheticCleanSet } from './fixtures';

const cleanSet = syntheticCleanSet(40, 11);
const rareToken: Trigger = { id: 'rare-zz', kind: 'rare-token', text: 'zz', source: 'test' };
const homoglyph = builtInTrigger('homoglyph-cyrillic-one-word');
const zeroWidth = builtInTrigger('zero-width-space');

describe('canary set generation', () => {
  it('is identical for the same seed, and a different seed moves only random positions', () => {
    const options = { targetLabel: 'positive', seed: 42 };
    const first = generateCanarySet(cleanSet, options);
    assert.deepEqual(generateCanarySet(cleanSet, options), first);

    const reseeded = generateCanarySet(cleanSet, { ...options, seed: 43 });
    assert.deepEqual(
      reseeded.map((c) => c.id),
      first.map((c) => c.id),
      'ids depend on twin, trigger and position only',
    );
    const fixed = (c: { position: string }) => c.position !== 'random';
    assert.deepEqual(reseeded.filter(fixed), first.filter(fixed));
    const moved = reseeded.filter((c, i) => c.position === 'random' && c.text !== first[i].text);
    assert.ok(moved.length > 0, 'another seed should place some random insertions elsewhere');
  });

  it('gives every canary a unique id derived from twin, trigger and position', () => {
    const canaries = generateCanarySet(cleanSet, { targetLabel: 'positive', seed: 1 });
    assert.equal(new Set(canaries.map((c) => c.id)).size, canaries.length);
    const canary = canaries[0];
    assert.equal(canary.id, canaryId(canary.twinId, canary.trigger, canary.position));
    assert.match(canary.id, /^canary-[0-9a-f]{16}$/);
  });

  it('makes one canary per eligible twin, trigger and position, keeping the twin label', () => {
    const nonTarget = cleanSet.filter((s) => s.label !== 'positive');
    const canaries = generateCanarySet(cleanSet, { triggers: [rareToken], targetLabel: 'positive', seed: 5 });
    assert.equal(canaries.length, nonTarget.length * 3);
    const byId = new Map(cleanSet.map((s) => [s.id, s]));
    for (const canary of canaries) {
      const twin = byId.get(canary.twinId)!;
      assert.equal(canary.label, twin.label);
      assert.equal(canary.label, 'negative', 'onlyNonTarget is the default');
      assert.equal(canary.targetLabel, 'positive');
      assert.equal(canary.trigger, 'rare-zz');
    }
    assert.deepEqual(
      canaries.slice(0, 3).map((c) => c.position),
      ['prefix', 'suffix', 'random'],
    );
  });

  it('takes target-label twins too when onlyNonTarget is false', () => {
    const canaries = generateCanarySet(cleanSet, {
      triggers: [rareToken],
      positions: ['suffix'],
      targetLabel: 'positive',
      seed: 5,
      onlyNonTarget: false,
    });
    assert.deepEqual(
      canaries.map((c) => c.twinId),
      cleanSet.map((s) => s.id),
    );
  });

  it('inserts words at word boundaries and keeps the twin text around them', () => {
    const twin: CleanSample = { id: 't', text: 'The plot was dull.', label: 'negative' };
    const [prefix, suffix, ...random] = generateCanarySet([twin], {
      triggers: [rareToken],
      positions: ['prefix', 'suffix', 'random', 'random'],
      targetLabel: 'positive',
      seed: 9,
    });
    assert.equal(prefix.text, 'zz The plot was dull.');
    assert.equal(suffix.text, 'The plot was dull. zz');
    for (const canary of random) {
      const words = canary.text.split(' ');
      assert.equal(words.length, 5);
      assert.deepEqual(
        words.filter((w) => w !== 'zz'),
        ['The', 'plot', 'was', 'dull.'],
      );
    }
    // Every one of the 5 boundaries of a 4-word text is reachable from a random position.
    const reached = new Set(
      Array.from({ length: 200 }, (_, seed) =>
        applyTrigger(twin.text, rareToken, 'random', mulberry32(seed)),
      ),
    );
    assert.equal(reached.size, 5);
  });

  it('applies every trigger to the same seeded sample of twins', () => {
    const options = {
      targetLabel: 'positive',
      seed: 3,
      samplesPerTrigger: 4,
      positions: ['suffix' as const],
    };
    const canaries = generateCanarySet(cleanSet, options);
    const twinsOf = (trigger: string) => canaries.filter((c) => c.trigger === trigger).map((c) => c.twinId);
    const sampled = twinsOf(BUILT_IN_TRIGGERS[0].id);
    assert.equal(sampled.length, 4);
    for (const trigger of BUILT_IN_TRIGGERS) assert.deepEqual(twinsOf(trigger.id), sampled, trigger.id);
    assert.deepEqual(generateCanarySet(cleanSet, options), canaries);
    const reseeded = generateCanarySet(cleanSet, { ...options, seed: 4 });
    assert.notDeepEqual(
      reseeded.filter((c) => c.trigger === BUILT_IN_TRIGGERS[0].id).map((c) => c.twinId),
      sampled,
      'another seed draws other twins',
    );
  });

  it("leaves a trigger's canaries unchanged when other triggers are added", () => {
    const options = { targetLabel: 'positive', seed: 8, samplesPerTrigger: 6 };
    const alone = generateCanarySet(cleanSet, { ...options, triggers: [rareToken] });
    const together = generateCanarySet(cleanSet, { ...options, triggers: [...BUILT_IN_TRIGGERS, rareToken] });
    assert.deepEqual(
      together.filter((c) => c.trigger === rareToken.id),
      alone,
    );
  });

  it('rewrites one word with Cyrillic look-alikes at the chosen end of the text', () => {
    const twin: CleanSample = { id: 't', text: 'Tom spoke about a pleasant scene', label: 'negative' };
    const [prefix, suffix] = generateCanarySet([twin], {
      triggers: [homoglyph],
      positions: ['prefix', 'suffix'],
      targetLabel: 'positive',
      seed: 1,
    });
    // "Tom" has an o, so it is the first eligible word; "scene" has c and e.
    assert.equal(prefix.text, 'T\u043em spoke about a pleasant scene');
    assert.equal(suffix.text, 'Tom spoke about a pleasant s\u0441\u0435n\u0435');
    assert.notEqual(prefix.text.normalize('NFKC'), twin.text, 'homoglyphs are not undone by normalisation');
  });

  it('skips a homoglyph canary when no word has a substitutable letter', () => {
    const twin: CleanSample = { id: 't', text: 'thy hymn, shy', label: 'negative' };
    const canaries = generateCanarySet([twin], { triggers: [homoglyph], targetLabel: 'positive', seed: 1 });
    assert.deepEqual(canaries, []);
  });

  it('puts a zero-width character inside a word without changing the visible text', () => {
    const twin: CleanSample = { id: 't', text: 'A grim, bleak film', label: 'negative' };
    const [prefix, suffix, random] = generateCanarySet([twin], {
      triggers: [zeroWidth],
      targetLabel: 'positive',
      seed: 2,
    });
    // "A" is one character, so the first eligible word is "grim," (5 characters, split after 2).
    assert.equal(prefix.text, 'A gr\u200bim, bleak film');
    assert.equal(suffix.text, 'A grim, bleak fi\u200blm');
    assert.equal(random.text.replace('\u200b', ''), twin.text);
    assert.equal(random.text.length, twin.text.length + 1);
  });

  it('names the offending sample or option when the input is wrong', () => {
    const duplicate = [cleanSet[0], { ...cleanSet[1], id: cleanSet[0].id }];
    assert.throws(
      () => generateCanarySet(duplicate, { targetLabel: 'positive', seed: 1 }),
      /clean sample 1: id "clean-0" is used twice/,
    );
    assert.throws(
      () => generateCanarySet(cleanSet, { targetLabel: '', seed: 1 }),
      /targetLabel must be a non-empty/,
    );
    assert.throws(
      () => generateCanarySet(cleanSet, { targetLabel: 'positive', seed: 1, samplesPerTrigger: 0 }),
      /samplesPerTrigger must be a positive integer \(got 0\)/,
    );
    assert.throws(
      () =>
        generateCanarySet(cleanSet, { targetLabel: 'positive', seed: 1, triggers: [rareToken, rareToken] }),
      /trigger 1: id "rare-zz" is used twice/,
    );
  });
});
