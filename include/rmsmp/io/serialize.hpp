// rmsmp/io/serialize.hpp — the core types in and out of a binary section.
//
// write(ByteWriter&, value) appends a value; read_<type>(ByteReader&) reads it back and
// checks it as strictly as the type's own constructors do, so a hand-made or corrupted
// payload that passed the container's checksum still cannot produce an invalid object.
// Values round-trip bit for bit (floats are stored as their IEEE-754 bits). The encodings
// are listed in docs/model-format.md.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/io/binary_file.hpp"
#include "rmsmp/output/fixed_point_multiplier.hpp"
#include "rmsmp/pack/mixed_row_matrix.hpp"
#include "rmsmp/core/activations.hpp"
#include "rmsmp/quantize/assignment.hpp"
#include "rmsmp/scheme/row_mix.hpp"
#include "rmsmp/scheme/scheme.hpp"

namespace rmsmp {

// --- SchemeId: u8 kind (0 fixed, 1 pot, 2 sp2), u8 bits -------------------------------------

inline void write(ByteWriter& out, SchemeId id) {
  out.write_u8(static_cast<std::uint8_t>(id.kind));
  out.write_u8(static_cast<std::uint8_t>(id.bits));
}

inline SchemeId read_scheme_id(ByteReader& in) {
  const std::uint8_t kind = in.read_u8();
  const std::uint8_t bits = in.read_u8();
  if (kind > static_cast<std::uint8_t>(SchemeKind::sp2)) in.fail("unknown scheme kind " + std::to_string(kind));
  const SchemeId id{static_cast<SchemeKind>(kind), bits};
  if (!is_supported(id)) in.fail("unsupported scheme " + display_name(id));
  return id;
}

// --- ActivationParams: f32 scale, i32 zero_point, i32 bits ----------------------------------

inline void write(ByteWriter& out, const ActivationParams& p) {
  out.write_f32(p.scale);
  out.write_i32(p.zero_point);
  out.write_i32(p.bits);
}

/// Checks what holds for every activation type (finite positive scale, 4 or 8 bits, a zero
/// point some uint8 or int8 code can take); check_activation_params<T> checks the rest.
inline ActivationParams read_activation_params(ByteReader& in) {
  ActivationParams p;
  p.scale = in.read_f32();
  p.zero_point = in.read_i32();
  p.bits = in.read_i32();
  if (!(std::isfinite(p.scale) && p.scale > 0.0f)) in.fail("activation scale must be finite and positive");
  if (p.bits != 4 && p.bits != 8) in.fail("activation bits " + std::to_string(p.bits) + " (must be 4 or 8)");
  if (p.zero_point < -128 || p.zero_point > 255)
    in.fail("activation zero point " + std::to_string(p.zero_point) + " is outside [-128, 255]");
  return p;
}

// --- FixedPointMultiplier: i32 multiplier, i32 shift ----------------------------------------

inline void write(ByteWriter& out, const FixedPointMultiplier& m) {
  out.write_i32(m.multiplier);
  out.write_i32(m.shift);
}

inline FixedPointMultiplier read_fixed_point_multiplier(ByteReader& in) {
  FixedPointMultiplier m;
  m.multiplier = in.read_i32();
  m.shift = in.read_i32();
  if (m.multiplier < 0) in.fail("negative requantization multiplier " + std::to_string(m.multiplier));
  if (m.shift < 0 || m.shift > FixedPointMultiplier::max_shift)
    in.fail("requantization shift " + std::to_string(m.shift) + " is outside [0, 62]");
  return m;
}

// --- DynamicRowMix: u32 count, then per scheme: SchemeId, u8 percent ------------------------

inline void write(ByteWriter& out, const DynamicRowMix& mix) {
  out.write_u32(static_cast<std::uint32_t>(mix.scheme_count()));
  for (const DynamicRowMix::Entry& e : mix.entries()) {
    write(out, e.scheme);
    out.write_u8(static_cast<std::uint8_t>(e.percent));
  }
}

inline DynamicRowMix read_row_mix(ByteReader& in) {
  const std::uint32_t count = in.read_u32();
  if (count == 0 || count > all_schemes.size())
    in.fail("a row mix of " + std::to_string(count) + " schemes (must be 1 to " + std::to_string(all_schemes.size()) +
            ")");
  std::vector<DynamicRowMix::Entry> entries;
  for (std::uint32_t i = 0; i < count; ++i) {
    const SchemeId id = read_scheme_id(in);
    entries.push_back({id, in.read_u8()});
  }
  try {
    return DynamicRowMix(std::move(entries));
  } catch (const Error& e) {
    in.fail(e);
  }
}

// --- MixedRowMatrix ---------------------------------------------------------------------------
// u32 rows, u32 cols, u32 group count; per group in the matrix's order: SchemeId, u32 rows in
// the group, then per row i32 original row, then per row f32 scale, then the group's packed
// codes (rows * row_bytes(bits, cols) bytes, the layout of pack/packed_codes.hpp).

template <class Mix>
void write(ByteWriter& out, const MixedRowMatrix<Mix>& m) {
  out.write_u32(static_cast<std::uint32_t>(m.rows()));
  out.write_u32(static_cast<std::uint32_t>(m.cols()));
  out.write_u32(static_cast<std::uint32_t>(m.group_count()));
  for (const RowGroup& g : m.groups()) {
    write(out, g.scheme());
    out.write_u32(static_cast<std::uint32_t>(g.rows()));
    for (int r : g.original_rows()) out.write_i32(r);
    for (float s : g.scales()) out.write_f32(s);
    out.write_bytes(g.packed_codes());
  }
}

namespace detail {

/// What a stored matrix holds, checked for consistency; from_codes rebuilds it.
struct StoredMatrix {
  RowAssignment assignment;
  std::vector<float> scales;
  Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic> codes;
  std::vector<SchemeId> group_order;
};

inline StoredMatrix read_stored_matrix(ByteReader& in) {
  const std::uint32_t rows = in.read_u32();
  const std::uint32_t cols = in.read_u32();
  const std::uint32_t group_count = in.read_u32();
  constexpr std::uint32_t int_max = static_cast<std::uint32_t>(std::numeric_limits<int>::max());
  if (rows > int_max || cols > int_max || cols == 0)
    in.fail("matrix of " + std::to_string(rows) + " x " + std::to_string(cols) + " (need 1 <= cols, both < 2^31)");
  if (group_count == 0 || group_count > all_schemes.size())
    in.fail("matrix with " + std::to_string(group_count) + " scheme groups (must be 1 to " +
            std::to_string(all_schemes.size()) + ")");
  // Every row takes its original index, its scale and at least half a byte per code: a size
  // the payload cannot hold fails here, before anything is allocated.
  const std::uint64_t least_bytes = std::uint64_t{rows} * (8 + (std::uint64_t{cols} + 1) / 2);
  if (least_bytes > in.remaining())
    in.fail("a " + std::to_string(rows) + " x " + std::to_string(cols) + " matrix cannot fit in the " +
            std::to_string(in.remaining()) + " bytes left");

  StoredMatrix m;
  m.assignment.resize(rows);
  m.scales.resize(rows);
  m.codes.resize(rows, cols);
  std::vector<bool> seen(rows, false);
  std::uint64_t rows_seen = 0;
  for (std::uint32_t g = 0; g < group_count; ++g) {
    const SchemeId scheme = read_scheme_id(in);
    for (SchemeId earlier : m.group_order)
      if (earlier == scheme) in.fail("scheme " + display_name(scheme) + " has two groups");
    m.group_order.push_back(scheme);
    const std::uint32_t group_rows = in.read_u32();
    rows_seen += group_rows;
    if (rows_seen > rows)
      in.fail("the scheme groups hold more than the matrix's " + std::to_string(rows) + " rows");
    std::vector<std::uint32_t> original(group_rows);
    for (std::uint32_t& r : original) {
      const std::int32_t index = in.read_i32();
      if (index < 0 || static_cast<std::uint32_t>(index) >= rows)
        in.fail("original row " + std::to_string(index) + " is outside [0, " + std::to_string(rows) + ")");
      r = static_cast<std::uint32_t>(index);
      if (seen[r]) in.fail("original row " + std::to_string(r) + " appears twice");
      seen[r] = true;
      m.assignment[r] = scheme;
    }
    for (std::uint32_t r : original) {
      const float scale = in.read_f32();
      if (!(std::isnormal(scale) && scale > 0.0f))
        in.fail("row " + std::to_string(r) + " has scale " + std::to_string(scale) +
                " (scales must be positive normal floats)");
      m.scales[r] = scale;
    }
    const std::size_t row_size = row_bytes(scheme.bits, cols);
    for (std::uint32_t r : original) {
      // Unpacked straight into m.codes: a buffer of `cols` codes would be allocated before any
      // row is read, and a matrix of 0 rows passes the size check above with any cols (a
      // 16-byte payload asked for 1.7 GB that way).
      const std::span<const std::uint8_t> packed = in.read_bytes(row_size);
      // The writer packs a zero high nibble after an odd column count; anything else there
      // is damage the checksum did not catch (or a hand-made file).
      if (codes_per_byte(scheme.bits) == 2 && cols % 2 == 1 && (packed.back() >> 4) != 0)
        in.fail("row " + std::to_string(r) + " has a non-zero padding nibble");
      for (std::size_t k = 0; k < cols; ++k)
        m.codes(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(k)) = unpack_code(scheme.bits, packed.data(), k);
    }
  }
  if (rows_seen != rows)
    in.fail("the scheme groups hold " + std::to_string(rows_seen) + " of the matrix's " + std::to_string(rows) + " rows");
  return m;
}

}  // namespace detail

/// Reads a matrix written by write(). A static Mix checks the rows against its exact counts;
/// MixedRowMatrix<> (the default) accepts any supported schemes and orders its groups like
/// from_codes does (all_schemes order).
template <class Mix = DynamicRowMix>
MixedRowMatrix<Mix> read_mixed_row_matrix(ByteReader& in) {
  detail::StoredMatrix m = detail::read_stored_matrix(in);
  try {
    return MixedRowMatrix<Mix>::from_codes(m.assignment, m.scales, m.codes);
  } catch (const Error& e) {
    in.fail(e);
  }
}

/// Reads a matrix that must follow `mix` (its row counts; groups in the mix's order): the
/// way to get back exactly a matrix that was built with a DynamicRowMix.
inline MixedRowMatrix<> read_mixed_row_matrix(ByteReader& in, const DynamicRowMix& mix) {
  detail::StoredMatrix m = detail::read_stored_matrix(in);
  try {
    return MixedRowMatrix<>::from_codes(mix, m.assignment, m.scales, m.codes);
  } catch (const Error& e) {
    in.fail(e);
  }
}

}  // namespace rmsmp
