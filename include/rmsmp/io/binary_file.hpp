// rmsmp/io/binary_file.hpp — a versioned, checksummed container of named binary sections.
//
// The quantized model format (and anything else rmsmp saves) is built from this: a fixed
// header (magic, container version, the format's name and version, the file size, a CRC32),
// then named sections, each with its length and its own CRC32. Every integer and float is
// written byte by byte in little-endian order, so files are identical on every host. The
// reader holds the whole file in memory and never reads past a section's end: a truncated,
// corrupted, foreign or newer file is rejected with an rmsmp::Error naming the file, the
// section and the problem. The byte layout is in docs/model-format.md.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rmsmp/error.hpp"

namespace rmsmp {

namespace detail {

constexpr std::array<std::uint32_t, 256> make_crc32_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t n = 0; n < 256; ++n) {
    std::uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[n] = c;
  }
  return table;
}

inline constexpr std::array<std::uint32_t, 256> crc32_table = make_crc32_table();

/// An Error's message without the "rmsmp: " every Error starts with, to re-throw it inside a
/// message that says where it happened.
inline std::string message_of(const Error& error) {
  constexpr std::string_view prefix = "rmsmp: ";
  std::string_view what = error.what();
  if (what.substr(0, prefix.size()) == prefix) what.remove_prefix(prefix.size());
  return std::string(what);
}

/// The largest file rmsmp reads (4 GiB, the IDX reader's limit after decompression too): every
/// reader holds its file in memory, so a file claiming more is refused before allocation.
inline constexpr std::uint64_t max_file_bytes = std::uint64_t{1} << 32;

/// Reads a whole file; `what` names it in errors ("model file", ".npy file").
inline std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path, std::string_view what) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(std::string(what) + " '" + path.string() + "' is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open " + std::string(what) + " '" + path.string() + "'");
  // Checked before anything is allocated: a file is read whole, so its size is the memory it
  // takes (a regular file's size; a pipe reports none and is read as it comes).
  if (const std::uintmax_t size = std::filesystem::file_size(path, ec); !ec && size > max_file_bytes)
    fail(std::string(what) + " '" + path.string() + "' is " + std::to_string(size) + " bytes, more than the " +
         std::to_string(max_file_bytes) + " rmsmp reads");
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail("error while reading " + std::string(what) + " '" + path.string() + "'");
  return bytes;
}

/// Writes a whole file (replacing it); `what` names it in errors.
inline void write_file_bytes(const std::filesystem::path& path, std::span<const std::uint8_t> bytes,
                             std::string_view what) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail("cannot create " + std::string(what) + " '" + path.string() + "'");
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) fail("error while writing " + std::string(what) + " '" + path.string() + "'");
}

}  // namespace detail

/// CRC-32 (IEEE 802.3, the one of zlib, gzip and PNG). Pass a previous result as `crc` to
/// continue a running checksum over several pieces.
constexpr std::uint32_t crc32(std::span<const std::uint8_t> bytes, std::uint32_t crc = 0) {
  crc = ~crc;
  for (std::uint8_t b : bytes) crc = detail::crc32_table[(crc ^ b) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

/// Appends little-endian values to a byte buffer.
class ByteWriter {
 public:
  void write_u8(std::uint8_t v) { bytes_.push_back(v); }
  void write_u16(std::uint16_t v) { put(v, 2); }
  void write_u32(std::uint32_t v) { put(v, 4); }
  void write_u64(std::uint64_t v) { put(v, 8); }
  void write_i32(std::int32_t v) { put(static_cast<std::uint32_t>(v), 4); }
  void write_i64(std::int64_t v) { put(static_cast<std::uint64_t>(v), 8); }
  /// IEEE-754 binary32 bits, so every float (NaN payloads included) comes back identical.
  void write_f32(float v) { put(std::bit_cast<std::uint32_t>(v), 4); }
  void write_f64(double v) { put(std::bit_cast<std::uint64_t>(v), 8); }

  /// u32 byte length, then the bytes.
  void write_string(std::string_view s) {
    write_u32(checked_u32(s.size(), "string"));
    bytes_.insert(bytes_.end(), s.begin(), s.end());
  }
  /// Raw bytes, no length (the reader must know it).
  void write_bytes(std::span<const std::uint8_t> b) { bytes_.insert(bytes_.end(), b.begin(), b.end()); }
  /// u64 element count, then the elements.
  void write_f32_array(std::span<const float> values) {
    write_u64(values.size());
    for (float v : values) write_f32(v);
  }
  void write_i32_array(std::span<const std::int32_t> values) {
    write_u64(values.size());
    for (std::int32_t v : values) write_i32(v);
  }

  std::span<const std::uint8_t> bytes() const { return bytes_; }
  std::size_t size() const { return bytes_.size(); }

 private:
  void put(std::uint64_t v, int byte_count) {
    for (int i = 0; i < byte_count; ++i) bytes_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  static std::uint32_t checked_u32(std::size_t n, const char* what) {
    if (n > std::numeric_limits<std::uint32_t>::max())
      rmsmp::fail(std::string("binary writer: ") + what + " of " + std::to_string(n) + " bytes is too long");
    return static_cast<std::uint32_t>(n);
  }

  std::vector<std::uint8_t> bytes_;
};

/// Reads little-endian values from a byte range, never past its end. Every error names the
/// context given at construction (e.g. "model.rmsmp, section 'conv1'").
class ByteReader {
 public:
  ByteReader(std::span<const std::uint8_t> bytes, std::string context)
      : bytes_(bytes), context_(std::move(context)) {}

  std::uint8_t read_u8() { return static_cast<std::uint8_t>(get(1, "u8")); }
  std::uint16_t read_u16() { return static_cast<std::uint16_t>(get(2, "u16")); }
  std::uint32_t read_u32() { return static_cast<std::uint32_t>(get(4, "u32")); }
  std::uint64_t read_u64() { return get(8, "u64"); }
  std::int32_t read_i32() { return static_cast<std::int32_t>(static_cast<std::uint32_t>(get(4, "i32"))); }
  std::int64_t read_i64() { return static_cast<std::int64_t>(get(8, "i64")); }
  float read_f32() { return std::bit_cast<float>(static_cast<std::uint32_t>(get(4, "f32"))); }
  double read_f64() { return std::bit_cast<double>(get(8, "f64")); }

  std::string read_string() {
    const std::uint32_t n = read_u32();
    const std::span<const std::uint8_t> b = read_bytes(n);
    return {b.begin(), b.end()};
  }
  std::span<const std::uint8_t> read_bytes(std::size_t n) {
    need(n, "bytes");
    const std::span<const std::uint8_t> out = bytes_.subspan(position_, n);
    position_ += n;
    return out;
  }
  /// A u64 element count that the remaining bytes can hold at `element_bytes` each: a
  /// corrupted count fails here instead of allocating gigabytes.
  std::size_t read_count(std::size_t element_bytes) {
    const std::uint64_t n = read_u64();
    if (element_bytes != 0 && n > remaining() / element_bytes)
      fail("count " + std::to_string(n) + " of " + std::to_string(element_bytes) + "-byte elements exceeds the " +
           std::to_string(remaining()) + " bytes left");
    return static_cast<std::size_t>(n);
  }
  std::vector<float> read_f32_array() {
    std::vector<float> v(read_count(4));
    for (float& x : v) x = read_f32();
    return v;
  }
  std::vector<std::int32_t> read_i32_array() {
    std::vector<std::int32_t> v(read_count(4));
    for (std::int32_t& x : v) x = read_i32();
    return v;
  }

  std::size_t position() const { return position_; }
  std::size_t remaining() const { return bytes_.size() - position_; }
  bool at_end() const { return position_ == bytes_.size(); }
  /// Throws unless every byte was consumed: trailing bytes mean the writer and the reader
  /// disagree on the layout.
  void expect_end() const {
    if (!at_end()) fail(std::to_string(remaining()) + " unexpected bytes after the data");
  }

  const std::string& context() const { return context_; }
  [[noreturn]] void fail(const std::string& problem) const { rmsmp::fail(context_ + ": " + problem); }
  /// Re-throws an error from a constructor (e.g. DynamicRowMix's) with this reader's context.
  [[noreturn]] void fail(const Error& error) const { fail(detail::message_of(error)); }

 private:
  void need(std::size_t n, const char* what) const {
    if (n > remaining())
      fail("truncated: reading " + std::to_string(n) + " " + what + " byte(s) at offset " + std::to_string(position_) +
           " but only " + std::to_string(remaining()) + " left");
  }
  std::uint64_t get(std::size_t n, const char* what) {
    need(n, what);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v |= std::uint64_t{bytes_[position_ + i]} << (8 * i);
    position_ += n;
    return v;
  }

  std::span<const std::uint8_t> bytes_;
  std::size_t position_ = 0;
  std::string context_;
};

/// Fixed facts of the container layout (docs/model-format.md).
struct BinaryFileLayout {
  static constexpr std::array<std::uint8_t, 8> magic = {0x89, 'R', 'M', 'S', 'M', 'P', '\r', '\n'};
  static constexpr std::uint32_t container_version = 1;
  static constexpr std::size_t format_name_bytes = 16;
  static constexpr std::size_t header_bytes = 48;
  static constexpr std::size_t max_section_name_bytes = 255;
};

namespace detail {

inline void check_format_name(std::string_view format) {
  require(!format.empty() && format.size() <= BinaryFileLayout::format_name_bytes,
          "binary file: format name '" + std::string(format) + "' must be 1 to 16 characters");
  for (char c : format)
    require(c > ' ' && c < 127, "binary file: format name '" + std::string(format) + "' must be printable ASCII");
}

inline void check_section_name(std::string_view name) {
  require(!name.empty() && name.size() <= BinaryFileLayout::max_section_name_bytes,
          "binary file: section name '" + std::string(name) + "' must be 1 to 255 bytes");
}

}  // namespace detail

/// Builds a container: add sections, fill each through its ByteWriter, then bytes() or save().
class BinaryFileWriter {
 public:
  BinaryFileWriter(std::string format, std::uint32_t format_version)
      : format_(std::move(format)), format_version_(format_version) {
    detail::check_format_name(format_);
  }

  /// A new, empty section. Names are unique within a file; the reference stays valid for the
  /// writer's lifetime.
  ByteWriter& add_section(std::string name) {
    detail::check_section_name(name);
    for (const auto& s : sections_)
      rmsmp::require(s.first != name, "binary file: section '" + name + "' added twice");
    sections_.emplace_back(std::move(name), ByteWriter{});
    return sections_.back().second;
  }

  std::vector<std::uint8_t> bytes() const {
    ByteWriter out;
    for (std::uint8_t b : BinaryFileLayout::magic) out.write_u8(b);
    out.write_u32(BinaryFileLayout::container_version);
    out.write_u32(format_version_);
    for (std::size_t i = 0; i < BinaryFileLayout::format_name_bytes; ++i)
      out.write_u8(i < format_.size() ? static_cast<std::uint8_t>(format_[i]) : 0);
    std::uint64_t total = BinaryFileLayout::header_bytes;
    for (const auto& [name, payload] : sections_) total += 4 + name.size() + 8 + payload.size() + 4;
    out.write_u64(total);
    out.write_u32(static_cast<std::uint32_t>(sections_.size()));
    out.write_u32(crc32(out.bytes()));
    for (const auto& [name, payload] : sections_) {
      const std::size_t start = out.size();
      out.write_string(name);
      out.write_u64(payload.size());
      out.write_bytes(payload.bytes());
      out.write_u32(crc32(out.bytes().subspan(start)));
    }
    return {out.bytes().begin(), out.bytes().end()};
  }

  void save(const std::filesystem::path& path) const {
    detail::write_file_bytes(path, bytes(), format_ + " file");
  }

 private:
  std::string format_;
  std::uint32_t format_version_;
  std::deque<std::pair<std::string, ByteWriter>> sections_;
};

/// Opens a container after checking magic, container version, header checksum, format name,
/// format version (1..max_format_version), file size and every section's bounds and checksum.
class BinaryFileReader {
 public:
  /// `source` names the bytes in errors (usually the file name).
  BinaryFileReader(std::vector<std::uint8_t> bytes, std::string source, std::string_view format,
                   std::uint32_t max_format_version)
      : bytes_(std::move(bytes)), source_(std::move(source)) {
    detail::check_format_name(format);
    parse(format, max_format_version);
  }

  static BinaryFileReader open(const std::filesystem::path& path, std::string_view format,
                               std::uint32_t max_format_version) {
    std::string what(format);  // appended, not "'" + ...: GCC 12 warns falsely (-Wrestrict) on that
    what += " file";
    return BinaryFileReader(detail::read_file_bytes(path, what), path.string(), format, max_format_version);
  }

  std::uint32_t format_version() const { return format_version_; }
  const std::string& source() const { return source_; }

  /// Section names in file order.
  std::vector<std::string> section_names() const {
    std::vector<std::string> names;
    for (const Section& s : sections_) names.push_back(s.name);
    return names;
  }
  bool has_section(std::string_view name) const { return find(name) != nullptr; }

  /// A reader over one section's payload; throws if the file has no such section.
  ByteReader section(std::string_view name) const {
    const Section* s = find(name);
    if (s == nullptr) rmsmp::fail(source_ + ": has no section '" + std::string(name) + "'");
    return ByteReader(std::span<const std::uint8_t>(bytes_).subspan(s->offset, s->size),
                      source_ + ", section '" + s->name + "'");
  }

 private:
  struct Section {
    std::string name;
    std::size_t offset = 0;
    std::size_t size = 0;
  };

  const Section* find(std::string_view name) const {
    for (const Section& s : sections_)
      if (s.name == name) return &s;
    return nullptr;
  }

  [[noreturn]] void fail(const std::string& problem) const { rmsmp::fail(source_ + ": " + problem); }

  void parse(std::string_view format, std::uint32_t max_format_version) {
    const std::span<const std::uint8_t> all(bytes_);
    if (all.size() < BinaryFileLayout::magic.size() ||
        !std::equal(BinaryFileLayout::magic.begin(), BinaryFileLayout::magic.end(), all.begin()))
      fail("not an rmsmp binary file (bad magic)");
    if (all.size() < BinaryFileLayout::header_bytes)
      fail("truncated: " + std::to_string(all.size()) + " bytes, shorter than the " +
           std::to_string(BinaryFileLayout::header_bytes) + "-byte header");
    ByteReader header(all.first(BinaryFileLayout::header_bytes), source_ + ", header");
    header.read_bytes(BinaryFileLayout::magic.size());
    const std::uint32_t container = header.read_u32();
    if (container != BinaryFileLayout::container_version)
      fail("container version " + std::to_string(container) + " is not supported (this build reads version " +
           std::to_string(BinaryFileLayout::container_version) + ")");
    const std::uint32_t version = header.read_u32();
    const std::span<const std::uint8_t> name_bytes = header.read_bytes(BinaryFileLayout::format_name_bytes);
    const std::uint64_t declared_size = header.read_u64();
    const std::uint32_t section_count = header.read_u32();
    const std::uint32_t header_crc = header.read_u32();
    if (header_crc != crc32(all.first(BinaryFileLayout::header_bytes - 4)))
      fail("the header is corrupted (checksum mismatch)");

    std::string file_format(name_bytes.begin(), name_bytes.end());
    file_format.erase(std::find(file_format.begin(), file_format.end(), '\0'), file_format.end());
    if (file_format != format) fail("is a '" + file_format + "' file, expected '" + std::string(format) + "'");
    if (version < 1 || version > max_format_version)
      fail("'" + file_format + "' version " + std::to_string(version) + " is not supported (this build reads 1 to " +
           std::to_string(max_format_version) + ")");
    format_version_ = version;
    if (declared_size != all.size())
      fail(declared_size > all.size()
               ? "truncated: the header says " + std::to_string(declared_size) + " bytes, the file has " +
                     std::to_string(all.size())
               : "the file has " + std::to_string(all.size() - declared_size) + " bytes after its declared end");

    ByteReader body(all, source_);
    body.read_bytes(BinaryFileLayout::header_bytes);
    for (std::uint32_t i = 0; i < section_count; ++i) {
      const std::size_t start = body.position();
      const std::uint32_t name_size = body.read_u32();
      if (name_size == 0 || name_size > BinaryFileLayout::max_section_name_bytes)
        fail("section " + std::to_string(i) + " has a name of " + std::to_string(name_size) +
             " bytes (corrupted file?)");
      const std::span<const std::uint8_t> name = body.read_bytes(name_size);
      Section s{std::string(name.begin(), name.end()), 0, 0};
      const std::uint64_t size = body.read_u64();
      if (size > body.remaining())
        fail("section '" + s.name + "' claims " + std::to_string(size) + " bytes but only " +
             std::to_string(body.remaining()) + " are left (truncated or corrupted)");
      s.offset = body.position();
      s.size = static_cast<std::size_t>(size);
      body.read_bytes(s.size);
      const std::size_t end = body.position();
      const std::uint32_t crc = body.read_u32();
      if (crc != crc32(all.subspan(start, end - start))) fail("section '" + s.name + "' is corrupted (checksum mismatch)");
      if (has_section(s.name)) fail("section '" + s.name + "' appears twice");
      sections_.push_back(std::move(s));
    }
    if (!body.at_end()) fail(std::to_string(body.remaining()) + " bytes after the last section");
  }

  std::vector<std::uint8_t> bytes_;
  std::string source_;
  std::uint32_t format_version_ = 0;
  std::vector<Section> sections_;
};

}  // namespace rmsmp
