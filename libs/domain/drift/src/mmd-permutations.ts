import { seededRandom } from './random';

/** Doubles of the lookup tables built at a time: 16 KiB, so the lookups stay in the L1 cache. */
const TILE_DOUBLES = 2048;
/** Chunk masks (of at most 8 bits) packed four to a 32-bit word. */
const PER_WORD = 4;

/**
 * For each of `permutations` random subsets S of `size` pooled rows (drawn in order from the seeded
 * generator): the within-subset kernel sum Σ_{i<j ∈ S} K_ij and the row-sum total Σ_{i ∈ S} rowSums_i,
 * accumulated one kernel row at a time (`addRow`, rows in order), so the N × N kernel is never held.
 *
 * The method of the Four Russians: columns are cut into chunks of C bits and each subset is
 * stored as one C-bit mask per chunk. For every row i the sums of K_i over all 2^C subsets of
 * each chunk to its right are tabulated (2^C additions per chunk), after which a permutation
 * containing i adds one table entry per chunk instead of C/2 kernel values. Cost
 * Σ_i (N - i)/C · (2^C + permutations·size/N); C minimises it.
 *
 * Every sum is added in one fixed order, whatever the tiling and interleaving below: a table entry
 * adds its bits from the lowest, a permutation's row sum adds its chunks from the left starting at
 * 0, and `within` adds the rows in order. The sums, and so the p-values, are those of the plain
 * Four Russians loop bit for bit. (Chunks left of a row's first column and past the last column
 * are looked up too, where it makes the words line up; their entries are +0, and adding +0 to a
 * sum of non-negative kernel values leaves it unchanged.)
 */
export class PermutedSums {
  readonly within: Float64Array;
  readonly rowTotals: Float64Array;
  private readonly bits: number;
  /** Words of masks per permutation: PER_WORD chunks each, the last padded with empty chunks. */
  private readonly words: number;
  private readonly width: number;
  /** Chunk c of permutation b is byte c % 4 of masks[b·words + ⌊c/4⌋] (low byte first). */
  private readonly masks: Int32Array;
  /** Lookup tables of `tileWords` words of chunks: table[(c - the tile's first chunk)·2^C + mask]. */
  private readonly table: Float64Array;
  private readonly tileWords: number;
  /** Bit b % 32 of rowMembers[i·memberWords + ⌊b/32⌋] is set when permutation b contains row i. */
  private readonly rowMembers: Int32Array;
  private readonly memberWords: number;
  /** The permutations containing the current row, and their offsets b·words into `masks`. */
  private readonly members: Int32Array;
  private readonly memberOffsets: Int32Array;
  /** The current row's partial sums, one per member, carried from tile to tile. */
  private readonly partial: Float64Array;

  constructor(
    private readonly total: number,
    size: number,
    private readonly permutations: number,
    seed: number,
  ) {
    this.within = new Float64Array(permutations);
    this.rowTotals = new Float64Array(permutations);
    const perRow = (permutations * size) / total;
    let bits = 1;
    for (let c = 2; c <= 8; c++) if ((perRow + 2 ** c) / c < (perRow + 2 ** bits) / bits) bits = c;
    this.bits = bits;
    this.words = Math.ceil(Math.ceil(total / bits) / PER_WORD);
    this.width = 1 << bits;
    this.tileWords = Math.max(1, Math.floor(TILE_DOUBLES / (PER_WORD * this.width)));
    this.table = new Float64Array(this.tileWords * PER_WORD * this.width);
    this.members = new Int32Array(permutations);
    this.memberOffsets = new Int32Array(permutations);
    this.partial = new Float64Array(permutations);
    this.masks = new Int32Array(permutations > 0 ? permutations * this.words : 0);
    this.memberWords = Math.ceil(permutations / 32);
    this.rowMembers = new Int32Array(permutations > 0 ? total * this.memberWords : 0);
    if (permutations > 0) this.draw(size, seed);
  }

  /** Partial Fisher–Yates shuffles, one per permutation: the first `size` picks form the subset. */
  private draw(size: number, seed: number): void {
    const { total, bits, words, masks, rowMembers, memberWords } = this;
    const random = seededRandom(seed);
    const indices = new Uint32Array(total);
    // Row r's word within a permutation's masks and its bit there, looked up rather than divided.
    const wordOf = new Int32Array(total);
    const bitOf = new Int32Array(total);
    for (let r = 0; r < total; r++) {
      const chunk = Math.floor(r / bits);
      wordOf[r] = chunk >> 2;
      bitOf[r] = (1 << r % bits) << (8 * (chunk & 3));
    }
    // random.integer(bound) is Math.floor(random() · bound): the same picks from draws made in bulk.
    const uniforms = new Float64Array(size);
    for (let b = 0; b < this.permutations; b++) {
      const offset = b * words;
      for (let i = 0; i < total; i++) indices[i] = i;
      random.fill(uniforms);
      for (let p = 0; p < size; p++) {
        const pick = p + Math.floor(uniforms[p] * (total - p));
        const row = indices[pick];
        indices[pick] = indices[p];
        indices[p] = row;
        masks[offset + wordOf[row]] |= bitOf[row];
        rowMembers[row * memberWords + (b >> 5)] |= 1 << (b & 31);
      }
    }
  }

  /** Adds kernel row i: row[j] = K_ij for i < j < N (the rest is not read), rowSum = Σ_j K_ij. */
  addRow(i: number, row: Float64Array, rowSum: number): void {
    if (this.permutations === 0) return;
    const { bits, words, rowMembers, memberWords, members, memberOffsets, partial } = this;
    let count = 0;
    for (let w = 0; w < memberWords; w++) {
      // The set bits of the word, lowest first.
      for (let set = rowMembers[i * memberWords + w]; set !== 0; set &= set - 1) {
        const b = 32 * w + 31 - Math.clz32(set & -set);
        members[count] = b;
        memberOffsets[count] = b * words;
        partial[count] = 0;
        count++;
      }
    }
    for (let start = Math.floor((i + 1) / bits) >> 2; start < words; start += this.tileWords) {
      const end = Math.min(words, start + this.tileWords);
      this.tabulate(i, row, start, end);
      this.lookUp(count, start, end);
    }
    for (let k = 0; k < count; k++) {
      this.within[members[k]] += partial[k];
      this.rowTotals[members[k]] += rowSum;
    }
  }

  /**
   * For the chunks of words [start, end): the sums of K_ij (j > i) over every subset of the chunk's
   * columns, entry half + mask = entry mask + the value of bit log2(half). The first two bits are
   * written out (entry 0 + v is v exactly), the others four entries at a time.
   */
  private tabulate(i: number, row: Float64Array, start: number, end: number): void {
    const { bits, width, table, total } = this;
    const first = start * PER_WORD;
    for (let c = first; c < end * PER_WORD; c++) {
      const entry = (c - first) * width;
      const column = c * bits;
      const v0 = column > i && column < total ? row[column] : 0;
      table[entry] = 0;
      table[entry + 1] = v0;
      if (bits === 1) continue;
      const v1 = column + 1 > i && column + 1 < total ? row[column + 1] : 0;
      table[entry + 2] = v1;
      table[entry + 3] = v0 + v1;
      for (let bit = 2, half = 4; bit < bits; bit++, half *= 2) {
        const j = column + bit;
        const value = j > i && j < total ? row[j] : 0;
        const target = entry + half;
        for (let mask = 0; mask < half; mask += 4) {
          table[target + mask] = table[entry + mask] + value;
          table[target + mask + 1] = table[entry + mask + 1] + value;
          table[target + mask + 2] = table[entry + mask + 2] + value;
          table[target + mask + 3] = table[entry + mask + 3] + value;
        }
      }
    }
  }

  /**
   * Adds the table entries of the chunks of words [start, end) to each member's partial sum, in
   * chunk order. Four members at a time (four independent chains of additions instead of one), and
   * one load for the masks of four chunks.
   */
  private lookUp(count: number, start: number, end: number): void {
    const { masks, table, width, memberOffsets: offsets, partial } = this;
    const step = PER_WORD * width;
    let k = 0;
    for (; k + 4 <= count; k += 4) {
      const o0 = offsets[k];
      const o1 = offsets[k + 1];
      const o2 = offsets[k + 2];
      const o3 = offsets[k + 3];
      let s0 = partial[k];
      let s1 = partial[k + 1];
      let s2 = partial[k + 2];
      let s3 = partial[k + 3];
      for (let q = start, e = 0; q < end; q++, e += step) {
        const w0 = masks[o0 + q];
        const w1 = masks[o1 + q];
        const w2 = masks[o2 + q];
        const w3 = masks[o3 + q];
        s0 += table[e + (w0 & 255)];
        s1 += table[e + (w1 & 255)];
        s2 += table[e + (w2 & 255)];
        s3 += table[e + (w3 & 255)];
        s0 += table[e + width + ((w0 >>> 8) & 255)];
        s1 += table[e + width + ((w1 >>> 8) & 255)];
        s2 += table[e + width + ((w2 >>> 8) & 255)];
        s3 += table[e + width + ((w3 >>> 8) & 255)];
        s0 += table[e + 2 * width + ((w0 >>> 16) & 255)];
        s1 += table[e + 2 * width + ((w1 >>> 16) & 255)];
        s2 += table[e + 2 * width + ((w2 >>> 16) & 255)];
        s3 += table[e + 2 * width + ((w3 >>> 16) & 255)];
        s0 += table[e + 3 * width + (w0 >>> 24)];
        s1 += table[e + 3 * width + (w1 >>> 24)];
        s2 += table[e + 3 * width + (w2 >>> 24)];
        s3 += table[e + 3 * width + (w3 >>> 24)];
      }
      partial[k] = s0;
      partial[k + 1] = s1;
      partial[k + 2] = s2;
      partial[k + 3] = s3;
    }
    for (; k < count; k++) {
      const offset = offsets[k];
      let sum = partial[k];
      for (let q = start, e = 0; q < end; q++, e += step) {
        const w = masks[offset + q];
        sum += table[e + (w & 255)];
        sum += table[e + width + ((w >>> 8) & 255)];
        sum += table[e + 2 * width + ((w >>> 16) & 255)];
        sum += table[e + 3 * width + (w >>> 24)];
      }
      partial[k] = sum;
    }
  }
}
