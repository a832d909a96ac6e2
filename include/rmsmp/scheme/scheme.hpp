// rmsmp/scheme/scheme.hpp — the quantization schemes and their exact integer code books.
//
// Every scheme is sign-magnitude: the top bit of a code is the sign, the other Bits-1 bits
// index a magnitude table. Magnitudes are small non-negative integers ("levels"), so a
// weight is `row_scale * level` and the CPU and the FPGA multiply (or shift by) exactly the
// same integers. All levels fit in int8 (|level| <= 127) by construction: that is what lets
// every scheme share one u8 x s8 -> int32 datapath. See docs/integer-contract.md.
#pragma once

#include <array>
#include <compare>
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace rmsmp {

enum class SchemeKind : std::uint8_t {
  fixed,  ///< uniform levels 0..2^(b-1)-1: the hardware multiplies (DSP)
  pot,    ///< power-of-two levels 0, 2^0..2^(2^(b-1)-2): the hardware shifts (LUT)
  sp2,    ///< sums of two powers of two: two shifts and an add (LUT)
};

/// A scheme known at run time. Compile-time schemes (Fixed<4>, ...) each carry one.
struct SchemeId {
  SchemeKind kind = SchemeKind::fixed;
  int bits = 0;
  friend constexpr bool operator==(SchemeId, SchemeId) = default;
  friend constexpr auto operator<=>(SchemeId, SchemeId) = default;
};

namespace detail {

constexpr int pot_max_bits = 4;    // PoT-5 would need level 2^14: beyond int8.
constexpr int sp2_max_bits = 5;    // SP2-6 would need level 128: beyond int8.
constexpr int fixed_max_bits = 8;  // Fixed-8 reaches 127, the largest symmetric int8 level.

// SP2 splits the Bits-1 magnitude bits into m1 (high, coarse term q1) and m2 (low, q2),
// m1 >= m2, as in the MSQ paper. q1 index j>0 means 2^-j, q2 likewise; both are expressed
// in units of the finest q1 step 2^-(2^m1 - 1), which makes every level an integer.
constexpr int sp2_low_bits(int bits) { return (bits - 1) / 2; }
constexpr int sp2_high_bits(int bits) { return (bits - 1) - sp2_low_bits(bits); }

constexpr int magnitude_of_index(SchemeId id, int index) {
  switch (id.kind) {
    case SchemeKind::fixed:
      return index;
    case SchemeKind::pot:
      return index == 0 ? 0 : 1 << (index - 1);
    case SchemeKind::sp2: {
      const int m1 = sp2_high_bits(id.bits);
      const int m2 = sp2_low_bits(id.bits);
      const int unit = 1 << ((1 << m1) - 1);
      const int high = index >> m2;
      const int low = index & ((1 << m2) - 1);
      return (high == 0 ? 0 : unit >> high) + (low == 0 ? 0 : unit >> low);
    }
  }
  return 0;
}

}  // namespace detail

/// True for the schemes rmsmp implements: Fixed-2..8, PoT-2..4, SP2-3..5.
constexpr bool is_supported(SchemeId id) {
  switch (id.kind) {
    case SchemeKind::fixed:
      return id.bits >= 2 && id.bits <= detail::fixed_max_bits;
    case SchemeKind::pot:
      return id.bits >= 2 && id.bits <= detail::pot_max_bits;
    case SchemeKind::sp2:
      return id.bits >= 3 && id.bits <= detail::sp2_max_bits;
  }
  return false;
}

/// The full code book of a scheme: the signed integer level of every one of its 2^bits codes.
/// Code c: sign = bit (bits-1), magnitude index = the low bits-1 bits. The code with sign 1
/// and magnitude index 0 is a second zero; quantizers never emit it, decoders accept it.
struct CodeBook {
  SchemeId id{};
  int code_count = 0;          ///< 2^bits
  int max_level = 0;           ///< largest |level|: the row scale maps max|w| (or the clip) here
  bool multiply_free = false;  ///< true when the hardware shifts instead of multiplying
  std::array<std::int8_t, 256> level{};  ///< level[code] for code < code_count

  constexpr int bits() const { return id.bits; }
  constexpr std::uint8_t sign_bit() const { return static_cast<std::uint8_t>(1u << (id.bits - 1)); }
};

/// Builds the code book of a scheme; an unsupported scheme gets an empty book (code_count 0),
/// so callers check is_supported first.
constexpr CodeBook make_codebook(SchemeId id) {
  CodeBook book;
  book.id = id;
  if (!is_supported(id)) return book;
  book.code_count = 1 << id.bits;
  book.multiply_free = id.kind != SchemeKind::fixed;
  const int magnitude_codes = book.code_count / 2;
  for (int index = 0; index < magnitude_codes; ++index) {
    const int magnitude = detail::magnitude_of_index(id, index);
    book.level[static_cast<std::size_t>(index)] = static_cast<std::int8_t>(magnitude);
    book.level[static_cast<std::size_t>(index + magnitude_codes)] =
        static_cast<std::int8_t>(-magnitude);
    if (magnitude > book.max_level) book.max_level = magnitude;
  }
  return book;
}

/// Human-readable name, e.g. "Fixed-4", "PoT-4", "SP2-4".
inline std::string display_name(SchemeId id) {
  const char* stem = id.kind == SchemeKind::fixed ? "Fixed-" : id.kind == SchemeKind::pot ? "PoT-" : "SP2-";
  return stem + std::to_string(id.bits);
}

/// Token used on command lines and in files, e.g. "fixed4", "pot4", "sp2_4".
inline std::string token(SchemeId id) {
  const char* stem = id.kind == SchemeKind::fixed ? "fixed" : id.kind == SchemeKind::pot ? "pot" : "sp2_";
  return stem + std::to_string(id.bits);
}

/// Inverse of token(); nullopt for anything that is not a supported scheme's token.
inline std::optional<SchemeId> parse_scheme(std::string_view text) {
  const std::pair<std::string_view, SchemeKind> stems[] = {
      {"fixed", SchemeKind::fixed}, {"pot", SchemeKind::pot}, {"sp2_", SchemeKind::sp2}};
  for (const auto& [stem, kind] : stems) {
    if (text.size() == stem.size() + 1 && text.substr(0, stem.size()) == stem) {
      const char digit = text.back();
      if (digit < '0' || digit > '9') return std::nullopt;
      const SchemeId id{kind, digit - '0'};
      if (is_supported(id)) return id;
      return std::nullopt;
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// Compile-time schemes. Each is an empty tag type carrying its SchemeId and code book, so a
// row mix, a packed group or a kernel can be specialised on the scheme at compile time.

namespace detail {

// What every compile-time scheme carries. The derived tags add the user-facing bit-width
// check; an unsupported width leaves an empty code book here, so only that check reports.
template <SchemeKind Kind, int Bits>
struct SchemeTag {
  static constexpr SchemeId id{Kind, Bits};
  static constexpr int bits = Bits;
  static constexpr CodeBook codebook = make_codebook(id);
};

}  // namespace detail

template <int Bits>
struct Fixed : detail::SchemeTag<SchemeKind::fixed, Bits> {
  static_assert(Bits >= 2 && Bits <= detail::fixed_max_bits,
                "rmsmp::Fixed<Bits>: Bits must be 2..8 (Fixed-8 levels -127..127 already fill int8)");
};

template <int Bits>
struct PoT : detail::SchemeTag<SchemeKind::pot, Bits> {
  static_assert(Bits >= 2 && Bits <= detail::pot_max_bits,
                "rmsmp::PoT<Bits>: Bits must be 2..4 (PoT-5 would need level 2^14, beyond int8)");
};

template <int Bits>
struct SP2 : detail::SchemeTag<SchemeKind::sp2, Bits> {
  static_assert(Bits >= 3 && Bits <= detail::sp2_max_bits,
                "rmsmp::SP2<Bits>: Bits must be 3..5 (SP2 needs two magnitude terms; SP2-6 would "
                "need level 128, beyond int8)");
};

/// A compile-time scheme: a tag type with a supported SchemeId and its code book.
template <class S>
concept Scheme = requires {
  { S::id } -> std::convertible_to<SchemeId>;
  { S::codebook } -> std::convertible_to<CodeBook>;
} && is_supported(S::id);

/// Every supported scheme, for run-time dispatch and exhaustive tests.
inline constexpr std::array<SchemeId, 13> all_schemes = {{
    {SchemeKind::fixed, 2}, {SchemeKind::fixed, 3}, {SchemeKind::fixed, 4}, {SchemeKind::fixed, 5},
    {SchemeKind::fixed, 6}, {SchemeKind::fixed, 7}, {SchemeKind::fixed, 8}, {SchemeKind::pot, 2},
    {SchemeKind::pot, 3},   {SchemeKind::pot, 4},   {SchemeKind::sp2, 3},   {SchemeKind::sp2, 4},
    {SchemeKind::sp2, 5},
}};

}  // namespace rmsmp
