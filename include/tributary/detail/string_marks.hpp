#pragma once
// Where the strings of a JSON text end, marked for the whole text before a reader walks it. A reader
// that looks for a string's closing quote only when it gets there waits on every string: the load, the
// compares and the bit scan that find one string's end all come before the next field can be read.
// Marked first, a block of 64 bytes after another with nothing to wait for between blocks, each
// string's end is then a bit scan of a word already computed.
//
// For each 64-byte block, bit i for byte i: the quotes no backslash escapes, the bytes a backslash
// escapes, the control characters and the bytes of multi-byte characters. A string body runs from its
// opening quote to the next quote no backslash escapes; it is plain text when none of the others lies
// between.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#if defined(__AVX512BW__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tributary::detail {

/// The bytes of one 64-byte block as bit masks (bit i for byte i).
struct block_masks {
  std::uint64_t quote = 0;      ///< '"'
  std::uint64_t backslash = 0;  ///< '\\'
  std::uint64_t control = 0;    ///< below 0x20
  std::uint64_t high = 0;       ///< 0x80 and up
};

/// The masks of the 64 bytes at `p`, all of which must be readable.
[[nodiscard]] inline block_masks masks_of_block(const char* p) noexcept {
  block_masks m;
#if defined(__AVX512BW__)
  const __m512i v = _mm512_loadu_si512(p);
  m.quote = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('"'));
  m.backslash = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\\'));
  m.control = _mm512_cmple_epu8_mask(v, _mm512_set1_epi8(0x1F));
  m.high = _mm512_movepi8_mask(v);
#elif defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), control = _mm_set1_epi8(0x1F);
  for (int k = 0; k < 4; ++k) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
    const auto shift = 16 * k;
    const auto bits = [&](__m128i hit) {
      return static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(hit))) << shift;
    };
    m.quote |= bits(_mm_cmpeq_epi8(v, quote));
    m.backslash |= bits(_mm_cmpeq_epi8(v, backslash));
    m.control |= bits(_mm_cmpeq_epi8(_mm_max_epu8(v, control), control));  // v <= 0x1F
    m.high |= bits(v);
  }
#else
  for (int i = 0; i < 64; ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    const std::uint64_t bit = std::uint64_t{1} << i;
    if (c == '"') m.quote |= bit;
    if (c == '\\') m.backslash |= bit;
    if (c < 0x20) m.control |= bit;
    if (c >= 0x80) m.high |= bit;
  }
#endif
  return m;
}

/// The marks of one text; the storage is reused from text to text.
class string_marks {
 public:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  /// What a range of a marked text holds.
  enum mark : unsigned {
    escaped = 1,   ///< a byte a backslash escapes
    control = 2,   ///< a control character
    high = 4       ///< a byte of a multi-byte character
  };

  /// Marks `text`. Positions are offsets into it; the text need not outlive the marks.
  void mark(std::string_view text) {
    const std::size_t blocks = (text.size() + 63) / 64;
    blocks_.resize(blocks);
    std::uint64_t carry = 0;  // 1: the first byte of this block is escaped by the block before
    for (std::size_t b = 0; b < blocks; ++b) {
      const std::size_t at = 64 * b;
      block_masks m;
      if (text.size() - at >= 64) {
        m = masks_of_block(text.data() + at);
      } else {
        char tail[64] = {};  // the last bytes, loaded without reading past the text
        const std::size_t left = text.size() - at;
        std::memcpy(tail, text.data() + at, left);
        m = masks_of_block(tail);
        const std::uint64_t valid = (std::uint64_t{1} << left) - 1;
        m.quote &= valid, m.backslash &= valid, m.control &= valid;
      }
      const std::uint64_t escaped_here = escaped_bytes(m.backslash, carry);
      blocks_[b] = {m.quote & ~escaped_here, escaped_here, m.control, m.high};
    }
  }

  /// The position of the first quote at or after `from` that no backslash escapes, or npos.
  [[nodiscard, gnu::always_inline]] std::size_t next_quote(std::size_t from) const noexcept {
    std::size_t w = from / 64;
    if (w >= blocks_.size()) return npos;
    std::uint64_t bits = blocks_[w].quote & (~std::uint64_t{0} << (from % 64));
    while (bits == 0) {
      if (++w == blocks_.size()) return npos;
      bits = blocks_[w].quote;
    }
    return 64 * w + static_cast<std::size_t>(__builtin_ctzll(bits));
  }

  /// Whether a byte of [from, to) is one of `marks` (an `or` of mark).
  [[nodiscard, gnu::always_inline]] bool any(unsigned marks, std::size_t from, std::size_t to) const noexcept {
    if (from >= to) return false;
    std::size_t w = from / 64;
    const std::size_t last = (to - 1) / 64;
    std::uint64_t bits = of(blocks_[w], marks) & (~std::uint64_t{0} << (from % 64));
    for (; w < last; bits = of(blocks_[++w], marks))
      if (bits) return true;
    return (bits & (~std::uint64_t{0} >> (63 - (to - 1) % 64))) != 0;
  }

  /// Calls `f(position)` for each escaped byte of [from, to), in order, until it returns false; returns
  /// whether none did.
  template <class F>
  bool each_escaped(std::size_t from, std::size_t to, F f) const {
    for (std::size_t w = from / 64; w < blocks_.size() && 64 * w < to; ++w) {
      std::uint64_t bits = blocks_[w].escaped;
      if (64 * w < from) bits &= ~std::uint64_t{0} << (from % 64);
      for (; bits != 0; bits &= bits - 1) {
        const std::size_t at = 64 * w + static_cast<std::size_t>(__builtin_ctzll(bits));
        if (at >= to) return true;
        if (!f(at)) return false;
      }
    }
    return true;
  }

 private:
  struct block {
    std::uint64_t quote, escaped, control, high;
  };
  [[nodiscard, gnu::always_inline]] static std::uint64_t of(const block& b, unsigned marks) noexcept {
    return ((marks & escaped) ? b.escaped : 0) | ((marks & control) ? b.control : 0) | ((marks & high) ? b.high : 0);
  }

  /// The bytes a backslash escapes (those after an odd run of backslashes), given the block's
  /// backslashes and whether the block before ended escaping this one's first byte; `carry` becomes
  /// whether this block ends so. Without a backslash after another, each escapes the byte after it.
  [[nodiscard]] static std::uint64_t escaped_bytes(std::uint64_t backslash, std::uint64_t& carry) noexcept {
    if ((backslash & ((backslash << 1) | carry)) == 0) {
      const std::uint64_t escaped = (backslash << 1) | carry;
      carry = backslash >> 63;
      return escaped;
    }
    std::uint64_t escaped = carry;
    carry = 0;
    for (std::uint64_t b = backslash & ~escaped; b != 0;) {
      const auto i = static_cast<unsigned>(__builtin_ctzll(b));
      if (i == 63) {
        carry = 1;
        break;
      }
      escaped |= std::uint64_t{2} << i;
      b &= ~(std::uint64_t{3} << i);  // an escaped backslash escapes nothing
    }
    return escaped;
  }

  std::vector<block> blocks_;
};

}  // namespace tributary::detail
