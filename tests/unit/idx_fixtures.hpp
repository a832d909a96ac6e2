// The IDX files the IDX reader's tests and its fuzz seeds are made of (see damaged_inputs.hpp):
// built byte by byte, gzip by zlib's deflate. Needs zlib, unlike the other readers' fixtures.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "damaged_inputs.hpp"

namespace rmsmp_test {

// --- IDX -----------------------------------------------------------------------------------

/// An IDX file: 0, 0, type, rank, the big-endian dimensions, then `data` as given (already
/// big-endian).
inline Bytes idx_file(std::uint8_t type, const std::vector<std::uint32_t>& dims, const Bytes& data) {
  Bytes b = {0, 0, type, static_cast<std::uint8_t>(dims.size())};
  for (std::uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<std::uint8_t>(d >> shift));
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

/// `n` bytes of a fixed, irregular pattern.
inline Bytes pixels(std::size_t n) {
  Bytes v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>((i * 37 + i / 7) % 256);
  return v;
}

/// One gzip member (zlib's deflate at level 9), what `gzip -9` writes up to its header fields.
inline Bytes gzip(const Bytes& plain) {
  z_stream s{};
  if (deflateInit2(&s, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("gzip fixture: deflateInit2 failed");
  Bytes out(deflateBound(&s, static_cast<uLong>(plain.size())) + 64);
  s.next_in = const_cast<Bytef*>(plain.data());  // zlib's API is not const-correct
  s.avail_in = static_cast<uInt>(plain.size());
  s.next_out = out.data();
  s.avail_out = static_cast<uInt>(out.size());
  const int status = deflate(&s, Z_FINISH);
  out.resize(out.size() - s.avail_out);
  deflateEnd(&s);
  if (status != Z_STREAM_END) throw std::runtime_error("gzip fixture: deflate did not finish");
  return out;
}

/// The IDX [fuzz] case's seeds: plain and gzip, images and labels.
inline std::vector<Bytes> idx_fuzz_seeds() {
  const Bytes plain = idx_file(0x08, {3, 9, 9}, pixels(3 * 81));
  const Bytes labels = idx_file(0x0C, {5}, pixels(20));
  return {plain, labels, gzip(plain), gzip(labels)};
}

/// One trial of the IDX [fuzz] case: 1-3 byte overwrites or bit flips, a third of them in the
/// 24-byte header region.
inline Bytes damage_idx(Bytes bad, std::mt19937& rng) {
  const int edits = 1 + static_cast<int>(rng() % 3);
  for (int e = 0; e < edits; ++e) {
    const std::size_t at = rng() % 3 == 0 ? rng() % std::min<std::size_t>(bad.size(), 24) : rng() % bad.size();
    if (rng() % 2) bad[at] = static_cast<std::uint8_t>(rng());
    else bad[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
  }
  return bad;
}

}  // namespace rmsmp_test
