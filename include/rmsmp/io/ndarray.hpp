// rmsmp/io/ndarray.hpp — an n-dimensional array as it comes out of a file (.npy, IDX):
// element type, shape in C order, and the elements as little-endian bytes.
//
// The readers only check the file; values<T>() hands out typed elements and insists on the
// stored type, so a float32 weight file never silently becomes int8 or the other way round.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "rmsmp/error.hpp"

namespace rmsmp {

enum class ElementType : std::uint8_t { float32, uint8, int8, int32, int64 };

constexpr std::size_t element_size(ElementType t) {
  switch (t) {
    case ElementType::uint8:
    case ElementType::int8:
      return 1;
    case ElementType::float32:
    case ElementType::int32:
      return 4;
    case ElementType::int64:
      return 8;
  }
  return 0;
}

constexpr std::string_view element_type_name(ElementType t) {
  switch (t) {
    case ElementType::float32:
      return "float32";
    case ElementType::uint8:
      return "uint8";
    case ElementType::int8:
      return "int8";
    case ElementType::int32:
      return "int32";
    case ElementType::int64:
      return "int64";
  }
  return "?";
}

/// The element types an NdArray can hold, as C++ types.
template <class T>
concept ArrayElement = std::same_as<T, float> || std::same_as<T, std::uint8_t> || std::same_as<T, std::int8_t> ||
                       std::same_as<T, std::int32_t> || std::same_as<T, std::int64_t>;

template <ArrayElement T>
constexpr ElementType element_type_of() {
  if constexpr (std::same_as<T, float>) return ElementType::float32;
  else if constexpr (std::same_as<T, std::uint8_t>) return ElementType::uint8;
  else if constexpr (std::same_as<T, std::int8_t>) return ElementType::int8;
  else if constexpr (std::same_as<T, std::int32_t>) return ElementType::int32;
  else return ElementType::int64;
}

namespace detail {
/// The unsigned integer as wide as T, to move T's bytes in a fixed (little-endian) order.
template <class T>
using same_width_unsigned = std::conditional_t<sizeof(T) == 1, std::uint8_t,
                                               std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>;

/// The element count of a shape, or nullopt when a dimension is negative or the product of
/// its non-zero dimensions times `element_bytes` exceeds int64: element_count() multiplies
/// from the left in int64, so (2^62, 4, 0) holds no element and still overflows on the way,
/// and the byte count must fit as well. Readers refuse such a shape before building an array.
inline std::optional<std::uint64_t> checked_element_count(const std::vector<std::int64_t>& shape,
                                                          std::uint64_t element_bytes) {
  constexpr auto limit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  std::uint64_t nonzero = element_bytes;
  bool empty = false;
  for (std::int64_t d : shape) {
    if (d < 0) return std::nullopt;
    if (d == 0) {
      empty = true;
      continue;
    }
    const auto dim = static_cast<std::uint64_t>(d);
    if (nonzero > limit / dim) return std::nullopt;
    nonzero *= dim;
  }
  return empty ? 0 : nonzero / element_bytes;
}
}  // namespace detail

/// "(2, 3)", "()" for a scalar: shapes in messages.
inline std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

struct NdArray {
  ElementType type = ElementType::float32;
  std::vector<std::int64_t> shape;  ///< empty for a scalar (one element)
  std::vector<std::uint8_t> bytes;  ///< element_count() * element_size(type), little-endian

  std::int64_t element_count() const {
    std::int64_t n = 1;
    for (std::int64_t d : shape) n *= d;
    return n;
  }

  /// The elements as T, which must be the stored type.
  template <ArrayElement T>
  std::vector<T> values() const {
    if (type != element_type_of<T>())
      fail("array holds " + std::string(element_type_name(type)) + " elements, not " +
                   std::string(element_type_name(element_type_of<T>())));
    std::vector<T> out(bytes.size() / sizeof(T));
    if constexpr (std::endian::native == std::endian::little) {
      if (!out.empty()) std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
    } else {
      using Bits = detail::same_width_unsigned<T>;
      for (std::size_t i = 0; i < out.size(); ++i) {
        Bits v = 0;
        for (std::size_t b = 0; b < sizeof(T); ++b) v = static_cast<Bits>(v | Bits{bytes[i * sizeof(T) + b]} << (8 * b));
        out[i] = std::bit_cast<T>(v);
      }
    }
    return out;
  }

  /// An array of T with the given shape; the value count must match it.
  template <ArrayElement T>
  static NdArray from_values(std::vector<std::int64_t> shape, const std::vector<T>& values) {
    NdArray a{element_type_of<T>(), std::move(shape), {}};
    for (std::int64_t d : a.shape) require(d >= 0, "array shape has a negative dimension");
    const std::optional<std::uint64_t> count = detail::checked_element_count(a.shape, sizeof(T));
    require(count.has_value(), [&] { return "array shape " + shape_string(a.shape) + " is too large"; });
    require(*count == values.size(),
                    "array of " + std::to_string(values.size()) + " values does not fill its shape");
    a.bytes.resize(values.size() * sizeof(T));
    using Bits = detail::same_width_unsigned<T>;
    for (std::size_t i = 0; i < values.size(); ++i) {
      const Bits v = std::bit_cast<Bits>(values[i]);
      for (std::size_t b = 0; b < sizeof(T); ++b) a.bytes[i * sizeof(T) + b] = static_cast<std::uint8_t>(v >> (8 * b));
    }
    return a;
  }
};

}  // namespace rmsmp
