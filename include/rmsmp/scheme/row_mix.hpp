// rmsmp/scheme/row_mix.hpp — which schemes a layer uses and what share of its rows each gets.
//
// The same mix applies to every layer ("layer-wise uniformity"): one hardware configuration
// then serves the whole network. A static mix is a type, checked at compile time; a dynamic
// mix is a value, checked when it is built. Both turn shares into exact row counts with the
// same rule (row_counts_for_shares below, documented in docs/integer-contract.md).
#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/scheme/scheme.hpp"

namespace rmsmp {

/// One scheme and its share of a layer's rows, in whole percent.
template <class S, int Percent>
struct Share {
  static_assert(Scheme<S>, "rmsmp::Share<S, Percent>: S must be a scheme type such as rmsmp::PoT<4>, "
                           "rmsmp::Fixed<4> or rmsmp::SP2<4>");
  static_assert(Percent >= 1 && Percent <= 100,
                "rmsmp::Share<S, Percent>: Percent must be 1..100 (leave a scheme out instead of "
                "giving it 0)");
  using scheme = S;
  static constexpr int percent = Percent;
};

namespace detail {

template <class T>
inline constexpr bool is_share_v = false;
template <class S, int P>
inline constexpr bool is_share_v<Share<S, P>> = true;

template <std::size_t N>
constexpr bool all_distinct(const std::array<SchemeId, N>& ids) {
  for (std::size_t i = 0; i < N; ++i)
    for (std::size_t j = i + 1; j < N; ++j)
      if (ids[i] == ids[j]) return false;
  return true;
}

/// The row-count rule (largest remainder, ties to the scheme listed first): each scheme gets
/// floor(rows * percent / 100) rows; the rows left over go one each to the schemes with the
/// largest remainder (rows * percent) mod 100. Deterministic, sums to `rows` exactly, and
/// never moves a count by more than one row from its exact share.
template <class Counts, class Percents>
constexpr void row_counts_for_shares(long rows, const Percents& percents, Counts& counts) {
  const std::size_t n = percents.size();
  long assigned = 0;
  for (std::size_t i = 0; i < n; ++i) {
    counts[i] = static_cast<int>(rows * percents[i] / 100);
    assigned += counts[i];
  }
  // At most n-1 rows are left over (each floor drops less than one row), so every scheme
  // gains at most one: it does when fewer than `left` schemes rank before it.
  const long left = rows - assigned;
  for (std::size_t i = 0; i < n; ++i) {
    const long remainder_i = rows * percents[i] % 100;
    long rank = 0;
    for (std::size_t j = 0; j < n; ++j) {
      const long remainder_j = rows * percents[j] % 100;
      if (remainder_j > remainder_i || (remainder_j == remainder_i && j < i)) ++rank;
    }
    if (rank < left) ++counts[i];
  }
}

}  // namespace detail

/// A compile-time row mix, e.g. RowMix<Share<PoT<4>, 60>, Share<Fixed<4>, 35>, Share<Fixed<8>, 5>>.
template <class... Shares>
struct RowMix {
  static_assert(sizeof...(Shares) >= 1, "rmsmp::RowMix: list at least one Share<Scheme, Percent>");
  static_assert((detail::is_share_v<Shares> && ...),
                "rmsmp::RowMix: every argument must be rmsmp::Share<Scheme, Percent>");
  static_assert((Shares::percent + ... + 0) == 100, "rmsmp::RowMix: the shares must add up to 100 percent");

  static constexpr bool is_static = true;
  static constexpr std::size_t scheme_count = sizeof...(Shares);
  static constexpr std::array<SchemeId, scheme_count> schemes{Shares::scheme::id...};
  static constexpr std::array<int, scheme_count> percents{Shares::percent...};

  static_assert(detail::all_distinct(schemes), "rmsmp::RowMix: a scheme may appear only once in a mix");

  /// Exact number of rows of each scheme for a layer of `rows` rows (see the rule above).
  static constexpr std::array<int, scheme_count> row_counts(int rows) {
    std::array<int, scheme_count> counts{};
    detail::row_counts_for_shares(rows, percents, counts);
    return counts;
  }

  /// Index of `id` in `schemes`, or scheme_count when the mix does not use it.
  static constexpr std::size_t index_of(SchemeId id) {
    for (std::size_t i = 0; i < scheme_count; ++i)
      if (schemes[i] == id) return i;
    return scheme_count;
  }
};

/// A row mix known only at run time (from a command line or a file). Same rule, checked when
/// constructed instead of when compiled.
class DynamicRowMix {
 public:
  static constexpr bool is_static = false;

  struct Entry {
    SchemeId scheme;
    int percent;
  };

  explicit DynamicRowMix(std::vector<Entry> entries) : entries_(std::move(entries)) {
    require(!entries_.empty(), "row mix: list at least one scheme");
    int total = 0;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      const Entry& e = entries_[i];
      require(is_supported(e.scheme), "row mix: unsupported scheme " + display_name(e.scheme) +
                                                  " (supported: Fixed-2..8, PoT-2..4, SP2-3..5)");
      require(e.percent >= 1 && e.percent <= 100,
                      "row mix: share of " + display_name(e.scheme) + " is " + std::to_string(e.percent) +
                          "%, must be 1..100");
      for (std::size_t j = 0; j < i; ++j)
        require(!(entries_[j].scheme == e.scheme),
                        "row mix: " + display_name(e.scheme) + " is listed twice");
      total += e.percent;
    }
    require(total == 100, "row mix: shares add up to " + std::to_string(total) + "%, not 100%");
  }

  /// The dynamic twin of a static mix.
  template <class Mix>
    requires Mix::is_static
  static DynamicRowMix from() {
    std::vector<Entry> entries;
    for (std::size_t i = 0; i < Mix::scheme_count; ++i) entries.push_back({Mix::schemes[i], Mix::percents[i]});
    return DynamicRowMix(std::move(entries));
  }

  std::size_t scheme_count() const { return entries_.size(); }
  SchemeId scheme(std::size_t i) const { return entries_.at(i).scheme; }
  int percent(std::size_t i) const { return entries_.at(i).percent; }
  const std::vector<Entry>& entries() const { return entries_; }

  std::vector<int> row_counts(int rows) const {
    require(rows >= 0, "row mix: negative row count");
    std::vector<int> percents(entries_.size());
    for (std::size_t i = 0; i < entries_.size(); ++i) percents[i] = entries_[i].percent;
    std::vector<int> counts(entries_.size());
    detail::row_counts_for_shares(rows, percents, counts);
    return counts;
  }

  std::size_t index_of(SchemeId id) const {
    for (std::size_t i = 0; i < entries_.size(); ++i)
      if (entries_[i].scheme == id) return i;
    return entries_.size();
  }

 private:
  std::vector<Entry> entries_;
};

/// The mix in the text form parse_row_mix reads, e.g. "pot4:60,fixed4:35,fixed8:5": what
/// command lines, file headers and logs carry.
inline std::string to_string(const DynamicRowMix& mix) {
  std::string text;
  // Appended piece by piece: GCC 12 at -O3 reports a false -Wrestrict on the chained + form.
  for (const auto& e : mix.entries()) {
    if (!text.empty()) text += ',';
    text += token(e.scheme);
    text += ':';
    text += std::to_string(e.percent);
  }
  return text;
}

/// The mix for people, e.g. "PoT-4 60%, Fixed-4 35%, Fixed-8 5%".
inline std::string display_name(const DynamicRowMix& mix) {
  std::string text;
  for (const auto& e : mix.entries()) {
    if (!text.empty()) text += ", ";
    text += display_name(e.scheme);
    text += ' ';
    text += std::to_string(e.percent);
    text += '%';
  }
  return text;
}

/// Reads "<scheme>:<percent>,<scheme>:<percent>,..." (schemes as token() spells them, whole
/// percents adding up to 100), the inverse of to_string. Throws rmsmp::Error naming the part
/// of `text` that is wrong.
inline DynamicRowMix parse_row_mix(std::string_view text) {
  const auto fail_on = [&](std::string_view item, const std::string& why) -> DynamicRowMix {
    fail("row mix '" + std::string(text) + "': '" + std::string(item) + "' " + why);
  };
  std::vector<DynamicRowMix::Entry> entries;
  if (text.empty()) fail("row mix: empty text (expected e.g. pot4:60,fixed4:35,fixed8:5)");
  for (std::size_t begin = 0; begin <= text.size();) {
    const std::size_t end = std::min(text.find(',', begin), text.size());
    const std::string_view item = text.substr(begin, end - begin);
    const std::size_t colon = item.find(':');
    if (colon == std::string_view::npos) return fail_on(item, "is not <scheme>:<percent>");
    const std::optional<SchemeId> scheme = parse_scheme(item.substr(0, colon));
    if (!scheme) {
      std::string known;
      for (SchemeId id : all_schemes) known += (known.empty() ? "" : ", ") + token(id);
      fail("row mix '" + std::string(text) + "': unknown scheme '" + std::string(item.substr(0, colon)) +
           "' (known: " + known + ")");
    }
    const std::string_view digits = item.substr(colon + 1);
    int percent = 0;
    const auto [last, error] = std::from_chars(digits.data(), digits.data() + digits.size(), percent);
    if (digits.empty() || error != std::errc() || last != digits.data() + digits.size())
      return fail_on(item, "has no whole-number percent after the colon");
    entries.push_back({*scheme, percent});
    begin = end + 1;
  }
  return DynamicRowMix(std::move(entries));
}

/// The paper's XC7Z020 mix: 60% PoT-4, 35% Fixed-4, 5% Fixed-8.
using Mix60_35_5 = RowMix<Share<PoT<4>, 60>, Share<Fixed<4>, 35>, Share<Fixed<8>, 5>>;

}  // namespace rmsmp
