// rmsmp/io/npy.hpp — NumPy .npy files in and out.
//
// Reads what np.save writes for the element types rmsmp uses: format versions 1.0, 2.0 and
// 3.0, little-endian float32, uint8, int8, int32, int64, C order, any shape including scalars
// and empty arrays. Everything else — big-endian or other dtypes, Fortran order, a malformed
// header, a shape that overflows or disagrees with the data, truncated or trailing bytes — is
// rejected with an rmsmp::Error that names the file and the problem. The header is parsed by
// a small strict parser of the Python dict literal NumPy writes, never evaluated. The accepted
// subset is listed in docs/model-format.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/io/binary_file.hpp"
#include "rmsmp/io/ndarray.hpp"

namespace rmsmp {

namespace detail {

inline constexpr std::string_view npy_magic = "\x93NUMPY";
inline constexpr std::size_t npy_max_dimensions = 32;  // NumPy 1.x's own limit

/// The header dict, parsed strictly: {'descr': <str>, 'fortran_order': <bool>, 'shape': <tuple>}
/// in any order, Python string quotes ' or ", an optional trailing comma, whitespace anywhere
/// between tokens.
class NpyHeaderParser {
 public:
  NpyHeaderParser(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  struct Header {
    std::string descr;
    bool fortran_order = false;
    std::vector<std::int64_t> shape;
  };

  Header parse() {
    Header h;
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = string_literal();
      expect(':');
      if (key == "descr") {
        if (have_descr) fail("the header names 'descr' twice");
        h.descr = string_literal();
        have_descr = true;
      } else if (key == "fortran_order") {
        if (have_order) fail("the header names 'fortran_order' twice");
        h.fortran_order = boolean();
        have_order = true;
      } else if (key == "shape") {
        if (have_shape) fail("the header names 'shape' twice");
        h.shape = tuple();
        have_shape = true;
      } else {
        fail("unexpected key '" + key + "' in the header (a .npy header has descr, fortran_order, shape)");
      }
      skip_space();
      if (peek() == ',') {
        ++position_;
        continue;
      }
      if (peek() != '}') fail("malformed header: expected ',' or '}' at header offset " + std::to_string(position_));
    }
    ++position_;  // '}'
    skip_space();
    if (position_ != text_.size()) fail("malformed header: text after the closing '}'");
    if (!have_descr || !have_order || !have_shape)
      fail(std::string("the header lacks '") + (!have_descr ? "descr" : !have_order ? "fortran_order" : "shape") + "'");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const { rmsmp::fail(source_ + ": " + problem); }

  char peek() const { return position_ < text_.size() ? text_[position_] : '\0'; }
  void skip_space() {
    while (position_ < text_.size() &&
           (text_[position_] == ' ' || text_[position_] == '\t' || text_[position_] == '\n' || text_[position_] == '\r'))
      ++position_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c)
      fail(std::string("malformed header: expected '") + c + "' at header offset " + std::to_string(position_));
    ++position_;
  }
  std::string string_literal() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"')
      fail("malformed header: expected a quoted string at header offset " + std::to_string(position_));
    const std::size_t start = ++position_;
    while (position_ < text_.size() && text_[position_] != quote) {
      const char c = text_[position_];
      if (c == '\\' || c < ' ' || static_cast<unsigned char>(c) > 126)
        fail("malformed header: unsupported character in a string at header offset " + std::to_string(position_));
      ++position_;
    }
    if (position_ == text_.size()) fail("malformed header: unterminated string");
    return std::string(text_.substr(start, position_++ - start));
  }
  bool boolean() {
    skip_space();
    for (const auto& [word, value] : {std::pair<std::string_view, bool>{"True", true}, {"False", false}})
      if (text_.substr(position_, word.size()) == word) {
        position_ += word.size();
        return value;
      }
    fail("malformed header: fortran_order must be True or False");
  }
  std::vector<std::int64_t> tuple() {
    expect('(');
    std::vector<std::int64_t> dims;
    bool trailing_comma = false;
    while (true) {
      skip_space();
      if (peek() == ')') break;
      if (peek() == '-') fail("the shape has a negative dimension");
      if (peek() < '0' || peek() > '9')
        fail("malformed header: expected a dimension at header offset " + std::to_string(position_));
      std::int64_t d = 0;
      while (peek() >= '0' && peek() <= '9') {
        if (d > (std::numeric_limits<std::int64_t>::max() - 9) / 10) fail("a shape dimension is absurdly large");
        d = d * 10 + (peek() - '0');
        ++position_;
      }
      dims.push_back(d);
      if (dims.size() > npy_max_dimensions)
        fail("the shape has more than " + std::to_string(npy_max_dimensions) + " dimensions");
      skip_space();
      trailing_comma = peek() == ',';
      if (trailing_comma) {
        ++position_;
        continue;
      }
      if (peek() != ')') fail("malformed header: expected ',' or ')' in the shape");
    }
    ++position_;  // ')'
    // "(5)" is the integer 5 in Python, not a tuple: NumPy always writes "(5,)".
    if (dims.size() == 1 && !trailing_comma) fail("malformed header: a one-dimensional shape is written '(n,)'");
    return dims;
  }

  std::string_view text_;
  const std::string& source_;
  std::size_t position_ = 0;
};

inline ElementType npy_element_type(const std::string& descr, const std::string& source) {
  const auto fail_with = [&](const std::string& problem) { rmsmp::fail(source + ": " + problem); };
  if (descr.size() >= 2 && descr[0] == '>' && descr != ">u1" && descr != ">i1")
    fail_with("big-endian data ('" + descr + "') is not supported; save it as little-endian (e.g. astype('<" +
              descr.substr(1) + "'))");
  const std::string_view byte_order = descr.size() >= 1 ? std::string_view(descr).substr(0, 1) : "";
  const std::string_view kind = descr.size() >= 1 ? std::string_view(descr).substr(1) : "";
  // Single bytes have no byte order: NumPy writes '|', but any order mark means the same.
  if (kind == "u1" && (byte_order == "|" || byte_order == "<" || byte_order == ">")) return ElementType::uint8;
  if (kind == "i1" && (byte_order == "|" || byte_order == "<" || byte_order == ">")) return ElementType::int8;
  if (byte_order == "<") {
    if (kind == "f4") return ElementType::float32;
    if (kind == "i4") return ElementType::int32;
    if (kind == "i8") return ElementType::int64;
  }
  fail_with("unsupported dtype '" + descr + "' (rmsmp reads little-endian float32 '<f4', uint8 '|u1', int8 '|i1', "
            "int32 '<i4', int64 '<i8')");
  return ElementType::float32;
}

inline std::string npy_descr(ElementType t) {
  switch (t) {
    case ElementType::float32:
      return "<f4";
    case ElementType::uint8:
      return "|u1";
    case ElementType::int8:
      return "|i1";
    case ElementType::int32:
      return "<i4";
    case ElementType::int64:
      return "<i8";
  }
  return "";
}

}  // namespace detail

/// Parses a whole .npy file held in memory; `source` names it in errors.
inline NdArray parse_npy(std::span<const std::uint8_t> file, const std::string& source) {
  const auto fail = [&](const std::string& problem) { rmsmp::fail(source + ": " + problem); };
  const std::string_view magic = detail::npy_magic;
  if (file.size() < magic.size() || !std::equal(magic.begin(), magic.end(), file.begin(),
                                                [](char m, std::uint8_t b) { return static_cast<std::uint8_t>(m) == b; }))
    fail("not a .npy file (bad magic)");
  ByteReader in(file, source);
  in.read_bytes(magic.size());
  if (in.remaining() < 2) fail("truncated .npy header");
  const std::uint8_t major = in.read_u8();
  const std::uint8_t minor = in.read_u8();
  if (major < 1 || major > 3 || minor != 0)
    fail(".npy format version " + std::to_string(major) + "." + std::to_string(minor) +
         " is not supported (1.0, 2.0 and 3.0 are)");
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  if (in.remaining() < length_bytes) fail("truncated .npy header");
  const std::size_t header_length = major == 1 ? in.read_u16() : in.read_u32();
  if (header_length > in.remaining())
    fail("the header length " + std::to_string(header_length) + " runs past the end of the file (" +
         std::to_string(file.size()) + " bytes)");
  const std::span<const std::uint8_t> header_bytes = in.read_bytes(header_length);
  const std::string header_text(header_bytes.begin(), header_bytes.end());
  const detail::NpyHeaderParser::Header header = detail::NpyHeaderParser(header_text, source).parse();

  NdArray array;
  array.type = detail::npy_element_type(header.descr, source);
  if (header.fortran_order)
    fail("Fortran-order arrays are not supported; save a C-order array (np.ascontiguousarray)");
  array.shape = header.shape;
  const std::uint64_t element_bytes = element_size(array.type);
  const std::optional<std::uint64_t> count = detail::checked_element_count(array.shape, element_bytes);
  if (!count) fail("the shape " + shape_string(array.shape) + " is too large (its element or byte count overflows)");
  const std::uint64_t data_bytes = *count * element_bytes;
  if (data_bytes != in.remaining())
    fail(data_bytes > in.remaining()
             ? "truncated: shape " + shape_string(array.shape) + " of " + std::string(element_type_name(array.type)) +
                   " needs " + std::to_string(data_bytes) + " data bytes, the file has " + std::to_string(in.remaining())
             : "the file has " + std::to_string(in.remaining() - data_bytes) + " bytes after the data of shape " +
                   shape_string(array.shape));
  const std::span<const std::uint8_t> data = in.read_bytes(static_cast<std::size_t>(data_bytes));
  array.bytes.assign(data.begin(), data.end());
  return array;
}

inline NdArray read_npy(const std::filesystem::path& path) {
  return parse_npy(detail::read_file_bytes(path, ".npy file"), path.string());
}

/// The bytes np.save would write: version 1.0 (2.0 if the header needs it), the header
/// padded with spaces and a newline so the data starts on a multiple of 64 bytes. `version`
/// 2 or 3 forces those (for tests; 3.0 differs from 2.0 only in the header's encoding).
inline std::vector<std::uint8_t> npy_bytes(const NdArray& array, int version = 1) {
  rmsmp::require(version >= 1 && version <= 3, "npy: format version must be 1, 2 or 3");
  rmsmp::require(static_cast<std::uint64_t>(array.element_count()) * element_size(array.type) == array.bytes.size(),
                  "npy: the array's bytes do not match its shape " + shape_string(array.shape));
  std::string header = "{'descr': '" + detail::npy_descr(array.type) + "', 'fortran_order': False, 'shape': " +
                       shape_string(array.shape) + ", }";
  if (version == 1 && header.size() + 1 + 10 > 65535) version = 2;
  const std::size_t prefix = version == 1 ? 10 : 12;
  const std::size_t unpadded = prefix + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';

  ByteWriter out;
  for (char c : detail::npy_magic) out.write_u8(static_cast<std::uint8_t>(c));
  out.write_u8(static_cast<std::uint8_t>(version));
  out.write_u8(0);
  if (version == 1) out.write_u16(static_cast<std::uint16_t>(header.size()));
  else out.write_u32(static_cast<std::uint32_t>(header.size()));
  out.write_bytes({reinterpret_cast<const std::uint8_t*>(header.data()), header.size()});
  out.write_bytes(array.bytes);
  return {out.bytes().begin(), out.bytes().end()};
}

inline void write_npy(const std::filesystem::path& path, const NdArray& array) {
  detail::write_file_bytes(path, npy_bytes(array), ".npy file");
}

}  // namespace rmsmp
