/**
 * A check, not a decoder: utif2's LZW decoder loops forever on some corrupt streams, so every LZW strip or
 * tile is run through this first, and refused if utif2 could not decode it in bounded time.
 *
 * Why utif2 can hang: its string table stores each entry as (last byte, pointer to the prefix entry), and
 * outputting a code walks the pointers until a root. Valid streams only ever point from a new entry to an older
 * live one, so the walk ends. Two kinds of invalid codes break that: a code above the next free entry (utif2
 * then links the new entry to a stale or unwritten slot, which can close a cycle, or read past its table and
 * walk `undefined` forever), and a non-literal code right after a Clear code (it walks the previous table's
 * stale entries). This mirrors utif2's bit reader exactly (MSB-first codes, "early change" width increase at
 * next + 1 = 2^width, reads past the segment taken from the following file bytes), tracks only the table size,
 * and rejects a stream containing either kind of code. With those gone every pointer walk ends at a root.
 */
const CLEAR = 256;
const END = 257;
const FIRST_FREE = 258;

export function lzwCodesAreSafe(data: Uint8Array, offset: number, length: number): boolean {
  let bit = offset * 8;
  const endBit = (offset + length) * 8;
  let width = 9;
  let next = FIRST_FREE;
  const read = (): number => {
    const byte = bit >>> 3;
    const window = ((data[byte] ?? 0) << 16) | ((data[byte + 1] ?? 0) << 8) | (data[byte + 2] ?? 0);
    const code = (window >>> (24 - (bit & 7) - width)) & ((1 << width) - 1);
    bit += width;
    return code;
  };
  const addEntry = () => {
    next++;
    if (next + 1 === 1 << width && width !== 12) width++;
  };
  while (bit < endBit) {
    let code = read();
    if (code === END) break;
    if (code === CLEAR) {
      width = 9;
      next = FIRST_FREE;
      code = read();
      if (code === END) break;
      if (code >= FIRST_FREE) return false; // must be a literal
    } else if (code < next) {
      addEntry();
    } else {
      if (code !== next) return false; // only the entry being defined may be used early
      addEntry();
    }
  }
  return true;
}
