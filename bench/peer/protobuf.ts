/**
 * The few protobuf wire-format pieces an ONNX writer needs: varints, fixed32 floats and length-delimited fields.
 * A message is built as a list of encoded fields and flattened once, so nested messages are sized without a
 * second pass. Repeated scalars are written unpacked (one tag per value): onnx.proto is proto2, where that is the
 * default encoding, and every parser accepts it.
 */

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

const utf8 = new TextEncoder();

/** An encoded message: its fields' bytes in order. */
export class Message {
  private readonly parts: Uint8Array[] = [];
  private size = 0;

  private push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.size += bytes.byteLength;
  }

  private tag(field: number, wire: number): void {
    this.push(varint(BigInt(field) * 8n + BigInt(wire)));
  }

  /** int32/int64/enum/bool field. Negative values take ten bytes (two's complement), as protobuf requires. */
  int(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.push(varint(BigInt.asUintN(64, BigInt(value))));
    return this;
  }

  ints(field: number, values: readonly (number | bigint)[]): this {
    for (const v of values) this.int(field, v);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.push(varint(BigInt(value.byteLength)));
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }

  strings(field: number, values: readonly string[]): this {
    for (const v of values) this.string(field, v);
    return this;
  }

  message(field: number, value: Message): this {
    return this.bytes(field, value.finish());
  }

  messages(field: number, values: readonly Message[]): this {
    for (const v of values) this.message(field, v);
    return this;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }
}

/** Base-128 varint of an unsigned 64-bit value. */
export function varint(value: bigint): Uint8Array {
  if (value < 0n) throw new RangeError(`varint of a negative value ${value}`);
  const out: number[] = [];
  let v = value;
  do {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? low | 0x80 : low);
  } while (v > 0n);
  return Uint8Array.from(out);
}
