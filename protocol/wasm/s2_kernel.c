/*
 * S2 hot loops for WebAssembly: the `fast` and `better` block encoders and the block decoder.
 * Each function is a twin of its TypeScript counterpart in protocol/s2_block.ts and produces
 * identical bytes (so the Go-verified hashes of our output hold for both); the TypeScript stays
 * the reference and the fallback where WebAssembly is unavailable, and the tests compare the
 * two. Why C: a compressed leaf link spends most of its extra CPU in these loops, and compiled
 * to WebAssembly they run about 1.2x (encode) and 1.5x (decode) faster than the TypeScript in
 * V8. CRC-32C stays out: without a CRC instruction, table-driven WebAssembly is no faster than
 * V8 (protocol/crc32c_native.ts reaches the instruction through a native addon instead).
 *
 * No libc: the module imports nothing, and JavaScript decides where inputs, outputs and hash
 * tables live in linear memory (above __heap_base), so there is no allocator here.
 *
 * Build: deno task build:wasm (see protocol/wasm/build.ts).
 */
#include <stdint.h>

typedef uint8_t u8;
typedef uint32_t u32;
typedef int32_t i32;
typedef uint64_t u64;

#define EXPORT(name) __attribute__((export_name(name)))

static inline u32 load32(const u8 *p) {
  u32 v;
  __builtin_memcpy(&v, p, 4);
  return v;
}
static inline u64 load64(const u8 *p) {
  u64 v;
  __builtin_memcpy(&v, p, 8);
  return v;
}
static inline void store32(u8 *p, u32 v) { __builtin_memcpy(p, &v, 4); }
static inline void store64(u8 *p, u64 v) { __builtin_memcpy(p, &v, 8); }

/* ------------------------------------------------------------------------------------------ */
/* Encoding: element writers                                                                  */
/* ------------------------------------------------------------------------------------------ */

#define MIN_COMPRESS_INPUT 16
#define MAX_REPEAT (65540 + 0xffffff)

static u8 *write_uvarint(u8 *d, u32 v) {
  while (v >= 0x80) {
    *d++ = (u8)(v | 0x80);
    v >>= 7;
  }
  *d++ = (u8)v;
  return d;
}

static u8 *emit_literal(u8 *d, const u8 *src, u32 length) {
  u32 n = length - 1;
  if (n < 60) {
    *d++ = (u8)(n << 2);
  } else if (n < 0x100) {
    d[0] = 60 << 2;
    d[1] = (u8)n;
    d += 2;
  } else if (n < 0x10000) {
    d[0] = 61 << 2;
    d[1] = (u8)n;
    d[2] = (u8)(n >> 8);
    d += 3;
  } else if (n < 0x1000000) {
    d[0] = 62 << 2;
    d[1] = (u8)n;
    d[2] = (u8)(n >> 8);
    d[3] = (u8)(n >> 16);
    d += 4;
  } else {
    d[0] = 63 << 2;
    d[1] = (u8)n;
    d[2] = (u8)(n >> 8);
    d[3] = (u8)(n >> 16);
    d[4] = (u8)(n >> 24);
    d += 5;
  }
  __builtin_memcpy(d, src, length);
  return d + length;
}

/* A literal of 1..16 bytes when 16 can be read at src and written after the tag. */
static inline u8 *emit_short_literal(u8 *d, const u8 *src, u32 length) {
  d[0] = (u8)((length - 1) << 2);
  store64(d + 1, load64(src));
  store64(d + 9, load64(src + 8));
  return d + 1 + length;
}

static u8 *emit_repeat(u8 *d, u32 length) {
  while (length > MAX_REPEAT) {
    u32 part = length - MAX_REPEAT >= 4 ? MAX_REPEAT : MAX_REPEAT - 4;
    d = emit_repeat(d, part);
    length -= part;
  }
  if (length <= 8) {
    d[0] = (u8)(1 | ((length - 4) << 2));
    d[1] = 0;
    return d + 2;
  }
  if (length <= 263) {
    d[0] = 1 | (5 << 2);
    d[1] = 0;
    d[2] = (u8)(length - 8);
    return d + 3;
  }
  if (length <= 65795) {
    u32 v = length - 260;
    d[0] = 1 | (6 << 2);
    d[1] = 0;
    d[2] = (u8)v;
    d[3] = (u8)(v >> 8);
    return d + 4;
  }
  u32 v = length - 65540;
  d[0] = 1 | (7 << 2);
  d[1] = 0;
  d[2] = (u8)v;
  d[3] = (u8)(v >> 8);
  d[4] = (u8)(v >> 16);
  return d + 5;
}

static u8 *emit_copy(u8 *d, u32 offset, u32 length) {
  if (offset < 2048) {
    if (length <= 11) {
      d[0] = (u8)(1 | ((length - 4) << 2) | ((offset >> 8) << 5));
      d[1] = (u8)offset;
      return d + 2;
    }
    if (length > 64) {
      d[0] = (u8)(1 | (7 << 2) | ((offset >> 8) << 5));
      d[1] = (u8)offset;
      return emit_repeat(d + 2, length - 11);
    }
  }
  u32 first = length;
  if (length > 64) first = length - 64 >= 4 ? 64 : length - 4;
  if (offset < 0x10000) {
    d[0] = (u8)(2 | ((first - 1) << 2));
    d[1] = (u8)offset;
    d[2] = (u8)(offset >> 8);
    d += 3;
  } else {
    d[0] = (u8)(3 | ((first - 1) << 2));
    store32(d + 1, offset);
    d += 5;
  }
  return first == length ? d : emit_repeat(d, length - first);
}

/* ------------------------------------------------------------------------------------------ */
/* Encoding: match finders                                                                    */
/* ------------------------------------------------------------------------------------------ */

static inline u32 hash4(u32 u, u32 shift) { return (u * 0x1e35a7bdu) >> shift; }

static inline u32 hash8(u32 lo, u32 hi, u32 shift) {
  return ((lo * 0x9e3779b1u) ^ ((hi ^ (lo >> 15)) * 0x85ebca77u)) >> shift;
}

/* Equal bytes at a and b (a > b), not reading at or past end. */
static inline u32 match_length(const u8 *a, const u8 *b, const u8 *end) {
  const u8 *start = a;
  while (a + 8 <= end) {
    u64 x = load64(a) ^ load64(b);
    if (x != 0) return (u32)(a - start) + ((u32)__builtin_ctzll(x) >> 3);
    a += 8;
    b += 8;
  }
  while (a < end && *a == *b) {
    a++;
    b++;
  }
  return (u32)(a - start);
}

static u32 table_bits(u32 n, u32 max_bits) {
  u32 bits = 8;
  while (bits < max_bits && (1u << bits) < n) bits++;
  return bits;
}

static void clear_table(i32 *table, u32 entries) {
  __builtin_memset(table, 0, entries * sizeof(i32));
}

#define FAST_BITS 14

static u8 *encode_fast(const u8 *src, u32 n, u8 *d, u8 *dst_end, i32 *table) {
  const u32 src_word_limit = n - 16;
  const u32 bits = table_bits(n, FAST_BITS);
  const u32 shift = 32 - bits;
  clear_table(table, 1u << bits);
  const u32 s_limit = n - 8;
  u32 next_emit = 0;
  u32 repeat = 0;
  u32 s = 1;
  while (s <= s_limit) {
    u32 skip = 32;
    i32 cand = -1;
    while (s <= s_limit) {
      u32 cur = load32(src + s);
      if (repeat != 0 && load32(src + s - repeat) == cur) {
        cand = (i32)(s - repeat);
        break;
      }
      u32 h = hash4(cur, shift);
      u32 c = (u32)table[h];
      table[h] = (i32)s;
      if (load32(src + c) == cur && (s - c < 0x10000 || load32(src + c + 4) == load32(src + s + 4))) {
        cand = (i32)c;
        break;
      }
      s += skip >> 5;
      skip++;
    }
    if (cand < 0) break;
    u32 cd = (u32)cand;
    while (s > next_emit && cd > 0 && src[s - 1] == src[cd - 1]) {
      s--;
      cd--;
    }
    u32 literal = s - next_emit;
    if (literal > 0) {
      d = literal <= 16 && next_emit <= src_word_limit && d + 17 <= dst_end
              ? emit_short_literal(d, src + next_emit, literal)
              : emit_literal(d, src + next_emit, literal);
    }
    for (;;) {
      u32 offset = s - cd;
      u32 length = 4 + match_length(src + s + 4, src + cd + 4, src + n);
      if (offset == repeat) {
        d = emit_repeat(d, length);
      } else {
        d = emit_copy(d, offset, length);
        repeat = offset;
      }
      s += length;
      next_emit = s;
      if (s > s_limit) break;
      table[hash4(load32(src + s - 2), shift)] = (i32)(s - 2);
      u32 cur = load32(src + s);
      u32 h = hash4(cur, shift);
      cd = (u32)table[h];
      table[h] = (i32)s;
      if (load32(src + cd) != cur || (s - cd >= 0x10000 && load32(src + cd + 4) != load32(src + s + 4))) {
        s++;
        break;
      }
    }
  }
  if (next_emit < n) d = emit_literal(d, src + next_emit, n - next_emit);
  return d;
}

#define BETTER_LONG_BITS 16
#define BETTER_SHORT_BITS 14

static u8 *encode_better(const u8 *src, u32 n, u8 *d, i32 *long_table, i32 *short_table) {
  const u32 long_bits = table_bits(n, BETTER_LONG_BITS);
  const u32 short_bits = table_bits(n, BETTER_SHORT_BITS);
  const u32 long_shift = 32 - long_bits;
  const u32 short_shift = 32 - short_bits;
  clear_table(long_table, 1u << long_bits);
  clear_table(short_table, 1u << short_bits);
  const u8 *end = src + n;
  const u32 s_limit = n - 8;
  u32 next_emit = 0;
  u32 repeat = 0;
  u32 s = 1;
  while (s <= s_limit) {
    u32 skip = 64;
    u32 cand = 0;
    u32 length = 0;
    while (s <= s_limit) {
      u32 cur = load32(src + s);
      u32 hi = load32(src + s + 4);
      if (repeat != 0 && load32(src + s - repeat) == cur) {
        cand = s - repeat;
        length = 4 + match_length(src + s + 4, src + cand + 4, end);
        break;
      }
      u32 hl = hash8(cur, hi, long_shift);
      u32 hs = hash4(cur, short_shift);
      u32 cand_l = (u32)long_table[hl];
      u32 cand_s = (u32)short_table[hs];
      long_table[hl] = (i32)s;
      short_table[hs] = (i32)s;
      if (load32(src + cand_l) == cur && load32(src + cand_l + 4) == hi) {
        cand = cand_l;
        length = 8 + match_length(src + s + 8, src + cand_l + 8, end);
        if (load32(src + cand_s) == cur && cand_s > cand_l) {
          u32 len_s = 4 + match_length(src + s + 4, src + cand_s + 4, end);
          if (len_s >= length) {
            cand = cand_s;
            length = len_s;
          }
        }
        break;
      }
      if (load32(src + cand_s) == cur && (s - cand_s < 0x10000 || load32(src + cand_s + 4) == hi)) {
        cand = cand_s;
        length = 4 + match_length(src + s + 4, src + cand_s + 4, end);
        u32 s1 = s + 1;
        if (s1 <= s_limit) {
          u32 cur1 = load32(src + s1);
          u32 hi1 = load32(src + s1 + 4);
          u32 h1 = hash8(cur1, hi1, long_shift);
          u32 cand1 = (u32)long_table[h1];
          long_table[h1] = (i32)s1;
          if (load32(src + cand1) == cur1 && load32(src + cand1 + 4) == hi1) {
            u32 len1 = 8 + match_length(src + s1 + 8, src + cand1 + 8, end);
            if (len1 > length + 1) {
              s = s1;
              cand = cand1;
              length = len1;
            }
          }
        }
        break;
      }
      s += skip >> 6;
      skip++;
    }
    if (length == 0) break;
    while (s > next_emit && cand > 0 && src[s - 1] == src[cand - 1]) {
      s--;
      cand--;
      length++;
    }
    if (s > next_emit) d = emit_literal(d, src + next_emit, s - next_emit);
    u32 offset = s - cand;
    if (offset == repeat) {
      d = emit_repeat(d, length);
    } else {
      d = emit_copy(d, offset, length);
      repeat = offset;
    }
    u32 base = s;
    s += length;
    next_emit = s;
    if (s > s_limit) break;
    u32 i1 = base + 1;
    long_table[hash8(load32(src + i1), load32(src + i1 + 4), long_shift)] = (i32)i1;
    short_table[hash4(load32(src + i1 + 1), short_shift)] = (i32)(i1 + 1);
    u32 i2 = s - 2;
    long_table[hash8(load32(src + i2), load32(src + i2 + 4), long_shift)] = (i32)i2;
    short_table[hash4(load32(src + s - 1), short_shift)] = (i32)(s - 1);
    for (u32 i = base + 2, mid = (base + s) >> 1; i < mid; i += 4) {
      long_table[hash8(load32(src + i), load32(src + i + 4), long_shift)] = (i32)i;
    }
  }
  if (next_emit < n) d = emit_literal(d, src + next_emit, n - next_emit);
  return d;
}

/*
 * Encodes src[0, n) as one block at dst, which has room for maxEncodedLength(n) bytes
 * (32 + n + n/6), and returns the encoded length. level: 1 fast, 2 better, anything else stores
 * one literal. Tables: `fast` uses 1 << 14 entries at table_a; `better` 1 << 16 at table_a and
 * 1 << 14 at table_b.
 */
EXPORT("encode_block")
u32 encode_block(u32 level, const u8 *src, u32 n, u8 *dst, i32 *table_a, i32 *table_b) {
  u8 *d = write_uvarint(dst, n);
  if (n == 0) return (u32)(d - dst);
  u8 *dst_end = dst + 32 + n + n / 6;
  if (n < MIN_COMPRESS_INPUT || (level != 1 && level != 2)) {
    d = emit_literal(d, src, n);
  } else if (level == 1) {
    d = encode_fast(src, n, d, dst_end, table_a);
  } else {
    d = encode_better(src, n, d, table_a, table_b);
  }
  return (u32)(d - dst);
}

/* ------------------------------------------------------------------------------------------ */
/* Decoding                                                                                   */
/* ------------------------------------------------------------------------------------------ */

/*
 * Decodes the elements src[s, sn) into dst[0, end): returns 0 when they produce exactly `end`
 * bytes, -1 on any inconsistency (the TypeScript decoder then names it). Never reads or writes
 * outside src[0, sn) and dst[0, end).
 */
EXPORT("decode_elements") i32 decode_elements(const u8 *src, u32 s, u32 sn, u8 *dst, u32 end) {
  u32 d = 0;
  u32 offset = 0;
  while (s < sn) {
    u32 tag = src[s];
    u32 length;
    u32 kind = tag & 3;
    if (kind == 0) {
      length = tag >> 2;
      if (length < 60) {
        s += 1;
      } else {
        u32 extra = length - 59;
        if (s + extra >= sn) return -1;
        length = src[s + 1];
        if (extra > 1) length |= (u32)src[s + 2] << 8;
        if (extra > 2) length |= (u32)src[s + 3] << 16;
        if (extra > 3) length |= (u32)src[s + 4] << 24;
        s += 1 + extra;
      }
      if (length == 0xffffffffu) return -1;
      length += 1;
      if (length > sn - s) return -1;
      if (length > end - d) return -1;
      if (length <= 16 && d + 16 <= end && s + 16 <= sn) {
        store64(dst + d, load64(src + s));
        store64(dst + d + 8, load64(src + s + 8));
      } else {
        __builtin_memcpy(dst + d, src + s, length);
      }
      d += length;
      s += length;
      continue;
    }
    if (kind == 1) {
      if (s + 1 >= sn) return -1;
      u32 o = ((tag & 0xe0) << 3) | src[s + 1];
      length = (tag >> 2) & 7;
      s += 2;
      if (o != 0) {
        offset = o;
        length += 4;
      } else {
        if (offset == 0) return -1;
        if (length < 5) {
          length += 4;
        } else if (length == 5) {
          if (s >= sn) return -1;
          length = (u32)src[s] + 8;
          s += 1;
        } else if (length == 6) {
          if (s + 1 >= sn) return -1;
          length = ((u32)src[s] | ((u32)src[s + 1] << 8)) + 260;
          s += 2;
        } else {
          if (s + 2 >= sn) return -1;
          length = ((u32)src[s] | ((u32)src[s + 1] << 8) | ((u32)src[s + 2] << 16)) + 65540;
          s += 3;
        }
      }
    } else if (kind == 2) {
      if (s + 2 >= sn) return -1;
      offset = (u32)src[s + 1] | ((u32)src[s + 2] << 8);
      length = (tag >> 2) + 1;
      s += 3;
      if (offset == 0) return -1;
    } else {
      if (s + 4 >= sn) return -1;
      offset = load32(src + s + 1);
      length = (tag >> 2) + 1;
      s += 5;
      if (offset == 0) return -1;
    }
    if (offset > d) return -1;
    if (length > end - d) return -1;
    u32 from = d - offset;
    if (offset >= 8 && d + length + 8 <= end) {
      /* Word copies read only bytes already written (offset >= 8) and may spill up to 7
         bytes past the copy, which later elements overwrite (hence the room check). */
      for (u32 i = 0; i < length; i += 8) store64(dst + d + i, load64(dst + from + i));
      d += length;
    } else if (offset >= length) {
      __builtin_memcpy(dst + d, dst + from, length);
      d += length;
    } else {
      /* Overlap: byte by byte repeats the pattern, as the format means. */
      for (u32 i = 0; i < length; i++) dst[d + i] = dst[from + i];
      d += length;
    }
  }
  return d == end ? 0 : -1;
}
