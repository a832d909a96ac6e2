// The scalar reference GEMM against an independent computation: the double-precision Eigen
// product of the integer levels and the centred activations, which is exact for these sizes.
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <vector>

#include "test_support.hpp"
#include "rmsmp/rmsmp.hpp"

using namespace rmsmp;

namespace {

std::mt19937 rng(20261125);

template <ActivationValue T>
Activations<T> random_activations(int K, int N, ActivationParams params) {
  std::uniform_int_distribution<int> dist(activation_min<T>(params.bits), activation_max<T>(params.bits));
  Activations<T> a{Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>(K, N), params};
  for (int n = 0; n < N; ++n)
    for (int k = 0; k < K; ++k) a.values(k, n) = static_cast<T>(dist(rng));
  return a;
}

RowAssignment shuffled(RowAssignment a) {
  std::shuffle(a.begin(), a.end(), rng);
  return a;
}

Eigen::MatrixXf random_weights(int M, int K) {
  std::normal_distribution<float> dist(0.0f, 0.05f);
  Eigen::MatrixXf w(M, K);
  for (int r = 0; r < M; ++r)
    for (int k = 0; k < K; ++k) w(r, k) = dist(rng);
  if (M > 2) w.row(M / 2).setZero();  // an all-zero row in every layer
  return w;
}

// Exact: |values| < 2^31 and K < 2^20, far inside double's 53 bits.
template <class Mix, ActivationValue T>
Eigen::MatrixXd exact_accumulators(const MixedRowMatrix<Mix>& w, const Activations<T>& x) {
  const Eigen::MatrixXd centred = x.values.template cast<double>().array() - x.params.zero_point;
  return w.levels().template cast<double>() * centred;
}

template <ActivationValue T>
void check_raw_accumulators(int M, int K, int N, ActivationParams params) {
  CAPTURE(M, K, N, params.bits, params.zero_point, std::is_signed_v<T>);
  const Eigen::MatrixXf w = random_weights(M, K);
  const Activations<T> x = random_activations<T>(K, N, params);

  const MixedRowMatrix<Mix60_35_5> fixed_mix(w, shuffled(assign_in_order<Mix60_35_5>(M)));
  const Eigen::MatrixXi y = reference::gemm(fixed_mix, x.view(), OutputPipeline<>{});
  REQUIRE(y.cast<double>() == exact_accumulators(fixed_mix, x));

  // Every supported scheme, chosen per row at run time.
  RowAssignment any(static_cast<std::size_t>(M));
  for (auto& s : any) s = all_schemes[std::uniform_int_distribution<std::size_t>(0, all_schemes.size() - 1)(rng)];
  const MixedRowMatrix<> dynamic(w, any, ScaleMethod::max_abs);
  const Eigen::MatrixXi yd = reference::gemm(dynamic, x.view(), OutputPipeline<>{});
  REQUIRE(yd.cast<double>() == exact_accumulators(dynamic, x));
}

}  // namespace

TEST_CASE("reference accumulators equal the exact product, ragged shapes", "[reference]") {
  for (int M : {1, 3, 20, 37})
    for (int K : {1, 2, 15, 16, 17, 31, 33, 64, 127, 130})
      for (int N : {1, 2, 5}) {
        check_raw_accumulators<std::uint8_t>(M, K, N, {0.02f, 0, 8});
        check_raw_accumulators<std::uint8_t>(M, K, N, {0.02f, 131, 8});
        check_raw_accumulators<std::uint8_t>(M, K, N, {0.1f, 3, 4});
        check_raw_accumulators<std::int8_t>(M, K, N, {0.02f, -5, 8});
        check_raw_accumulators<std::int8_t>(M, K, N, {0.02f, -128, 8});
      }
}

TEST_CASE("reference accumulators on a larger random layer", "[reference]") {
  check_raw_accumulators<std::uint8_t>(200, 1000, 7, {0.02f, 17, 8});
  check_raw_accumulators<std::int8_t>(129, 777, 3, {0.02f, 0, 8});
}

TEST_CASE("outputs land in original row order, not group order", "[reference]") {
  // Row r of the weights is r+1 in column 0 only: output r must be (r+1)-proportional.
  const int M = 40, K = 3;
  Eigen::MatrixXf w = Eigen::MatrixXf::Zero(M, K);
  for (int r = 0; r < M; ++r) w(r, 0) = static_cast<float>(r + 1);
  const MixedRowMatrix<Mix60_35_5> m(w, shuffled(assign_in_order<Mix60_35_5>(M)), ScaleMethod::max_abs);
  Activations<std::uint8_t> x{Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic>::Constant(K, 1, 1), {1.0f, 0, 8}};
  const auto y = reference::gemm(m, x.view(), OutputPipeline(to_float_from_scales(m.row_scales(), 1.0f)));
  for (int r = 0; r < M; ++r) {
    CAPTURE(r);
    REQUIRE(y(r, 0) == Approx(r + 1).epsilon(1e-6));  // every row's max maps onto its top level
  }
}

TEST_CASE("full pipeline equals an independent per-element computation", "[reference]") {
  const int M = 61, K = 45, N = 4;
  const Eigen::MatrixXf w = random_weights(M, K);
  const MixedRowMatrix<Mix60_35_5> m(w, shuffled(assign_in_order<Mix60_35_5>(M)));
  const ActivationParams xp{0.03f, 7, 8};
  const Activations<std::uint8_t> x = random_activations<std::uint8_t>(K, N, xp);
  const std::vector<float> scales = m.row_scales();
  std::vector<float> bias_real(M);
  for (auto& b : bias_real) b = std::uniform_real_distribution<float>(-0.5f, 0.5f)(rng);

  const BiasAdd bias = bias_from_real(bias_real, scales, xp.scale);
  const Requantize requant = requantize_from_scales(scales, xp.scale, 0.04f, -3);
  const OutputPipeline pipeline(bias, requant, relu_for<std::int8_t>(-3), SaturatingCast<std::int8_t>{});
  const auto y = reference::gemm(m, x.view(), pipeline);
  const Eigen::MatrixXd acc = exact_accumulators(m, x);

  for (int r = 0; r < M; ++r)
    for (int n = 0; n < N; ++n) {
      CAPTURE(r, n);
      const auto& fm = requant.multipliers[static_cast<std::size_t>(r)];
      const rmsmp_test::int128 t = static_cast<rmsmp_test::int128>(acc(r, n)) + bias.bias[static_cast<std::size_t>(r)];
      long long q = rmsmp_test::round_half_up_shift(t, fm.multiplier, fm.shift);
      q += -3;
      const long long expected = std::clamp<long long>(static_cast<long long>(q), -3, 127);
      REQUIRE(static_cast<long long>(y(r, n)) == expected);
    }

  // Float output: float(acc + bias) * float(row_scale * x_scale).
  const auto yf = reference::gemm(m, x.view(), OutputPipeline(bias, to_float_from_scales(scales, xp.scale)));
  for (int r = 0; r < M; ++r)
    for (int n = 0; n < N; ++n) {
      const double t = acc(r, n) + bias.bias[static_cast<std::size_t>(r)];
      REQUIRE(yf(r, n) == static_cast<float>(t) * (scales[static_cast<std::size_t>(r)] * xp.scale));
    }
}

TEST_CASE("gemv is gemm with one column", "[reference]") {
  const int M = 23, K = 50;
  const MixedRowMatrix<Mix60_35_5> m(random_weights(M, K), assign_in_order<Mix60_35_5>(M));
  const Activations<std::int8_t> x = random_activations<std::int8_t>(K, 1, {0.05f, 2, 8});
  std::vector<std::int32_t> y(M);
  reference::gemv(m, std::span<const std::int8_t>(x.values.data(), K), x.params, OutputPipeline<>{}, std::span<std::int32_t>(y));
  const Eigen::MatrixXd acc = exact_accumulators(m, x);
  for (int r = 0; r < M; ++r) REQUIRE(y[static_cast<std::size_t>(r)] == acc(r, 0));
}

TEST_CASE("extreme codes at the largest safe K are exact and one more K is refused", "[reference][slow]") {
  struct Case {
    SchemeId scheme;
    ActivationParams params;
    int code;
    int x;
  };
  // Worst case: every product at its maximum magnitude, same sign.
  const Case cases[] = {
      {Fixed<8>::id, {1.0f, 0, 8}, 127, 255},           // +127 * 255
      {Fixed<8>::id, {1.0f, 255, 8}, 127, 0},           // +127 * -255
      {Fixed<8>::id, {1.0f, 0, 8}, 128 | 127, 255},     // -127 * 255
      {PoT<4>::id, {1.0f, 0, 8}, 7, 255},               // 64 * 255
      {PoT<4>::id, {1.0f, 15, 4}, 7 | 8, 0},            // -64 * -15, 4-bit activations
  };
  for (const Case& c : cases) {
    const CodeBook book = make_codebook(c.scheme);
    const int max_x = c.params.bits == 4 ? 15 : 255;
    const std::int64_t limit = max_safe_depth(book.max_level, max_x);
    CAPTURE(display_name(c.scheme), limit);
    REQUIRE(limit == 2147483647LL / (book.max_level * max_x));
    REQUIRE(limit == max_safe_depth<std::uint8_t>(c.scheme, c.params));
    for (std::int64_t K : {limit, limit + 1}) {
      if (K > 3'000'000) continue;  // keep the run short; PoT-4 x 4-bit is covered by the formula
      const RowAssignment a{c.scheme};
      MixedRowMatrix<>::CodeMatrix codes = MixedRowMatrix<>::CodeMatrix::Constant(1, K, static_cast<std::uint8_t>(c.code));
      const auto m = MixedRowMatrix<>::from_codes(a, {1.0f}, codes);
      Activations<std::uint8_t> x{Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic>::Constant(K, 1, static_cast<std::uint8_t>(c.x)), c.params};
      if (K == limit) {
        const auto y = reference::gemm(m, x.view(), OutputPipeline<>{});
        REQUIRE(y(0, 0) == K * book.level[static_cast<std::size_t>(c.code)] * (c.x - c.params.zero_point));
        // A bias of 1 more than the slack left makes it refuse.
        const std::int64_t slack = 2147483647LL - K * book.max_level * max_x;
        REQUIRE_NOTHROW(reference::gemm(m, x.view(), OutputPipeline(BiasAdd{{static_cast<std::int32_t>(slack)}})));
        REQUIRE_THROWS_WITH(reference::gemm(m, x.view(), OutputPipeline(BiasAdd{{static_cast<std::int32_t>(-slack - 1)}})),
                            Catch::Contains("overflow"));
      } else {
        REQUIRE_THROWS_WITH(reference::gemm(m, x.view(), OutputPipeline<>{}),
                            Catch::Contains("overflow") && Catch::Contains("largest safe K is " + std::to_string(limit)));
      }
    }
  }
  REQUIRE(max_safe_depth<std::uint8_t>(Fixed<8>::id, {1.0f, 0, 8}) == 66311);
  REQUIRE(max_safe_depth<std::uint8_t>(Fixed<8>::id, {1.0f, 128, 8}) == 132104);  // (2^31-1) / (127*128)
  REQUIRE(max_safe_depth<std::int8_t>(Fixed<8>::id, {1.0f, 0, 8}) == 132104);
}

TEST_CASE("zero-row layers and all-zero rows", "[reference]") {
  const MixedRowMatrix<Mix60_35_5> empty(Eigen::MatrixXf(0, 8), assign_in_order<Mix60_35_5>(0));
  const Activations<std::uint8_t> x = random_activations<std::uint8_t>(8, 3, {0.1f, 0, 8});
  const auto y = reference::gemm(empty, x.view(), OutputPipeline<>{});
  REQUIRE(y.rows() == 0);
  REQUIRE(y.cols() == 3);

  const MixedRowMatrix<Mix60_35_5> zeros(Eigen::MatrixXf::Zero(20, 8), assign_in_order<Mix60_35_5>(20));
  const auto yz = reference::gemm(zeros, x.view(), OutputPipeline(BiasAdd{std::vector<std::int32_t>(20, 5)}));
  REQUIRE((yz.array() == 5).all());
}

TEST_CASE("bad calls are refused with a clear message", "[reference]") {
  const int M = 20, K = 10;
  const MixedRowMatrix<Mix60_35_5> m(random_weights(M, K), assign_in_order<Mix60_35_5>(M));
  const Activations<std::uint8_t> x = random_activations<std::uint8_t>(K, 2, {0.1f, 0, 8});
  const Activations<std::uint8_t> short_x = random_activations<std::uint8_t>(K - 1, 2, {0.1f, 0, 8});

  REQUIRE_THROWS_WITH(reference::gemm(m, short_x.view(), OutputPipeline<>{}), Catch::Contains("K = 9"));
  Eigen::MatrixXi wrong(M + 1, 2);
  REQUIRE_THROWS_WITH(reference::gemm(m, x.view(), OutputPipeline<>{}, OutputView<int>::of(wrong)),
                      Catch::Contains("output is 21 x 2"));
  REQUIRE_THROWS_AS(reference::gemm(m, x.view(), OutputPipeline(BiasAdd{std::vector<std::int32_t>(M - 1)})), Error);
  REQUIRE_THROWS_AS(reference::gemm(m, x.view(), OutputPipeline(ToFloat{std::vector<float>(M + 1)})), Error);
  REQUIRE_THROWS_AS(reference::gemm(m, x.view(), OutputPipeline(Clamp{5, 4})), Error);

  Activations<std::uint8_t> four = random_activations<std::uint8_t>(K, 2, {0.1f, 0, 4});
  REQUIRE_NOTHROW(reference::gemm(m, four.view(), OutputPipeline<>{}));
  four.values(3, 1) = 16;
  REQUIRE_THROWS_WITH(reference::gemm(m, four.view(), OutputPipeline<>{}), Catch::Contains("4-bit"));

  Activations<std::int8_t> bad_zp = random_activations<std::int8_t>(K, 2, {0.1f, 0, 8});
  bad_zp.params.zero_point = 128;
  REQUIRE_THROWS_WITH(reference::gemm(m, bad_zp.view(), OutputPipeline<>{}), Catch::Contains("zero point"));

  REQUIRE_THROWS_WITH((MixedRowMatrix<Mix60_35_5>(Eigen::MatrixXf(20, 0), assign_in_order<Mix60_35_5>(20))),
                      Catch::Contains("K (the number of columns) must be at least 1"));
}
