// onednn_s8: oneDNN int8 matmul as the int8 peer of rmsmp's CPU backend.
//
// rmsmp computes Y[M x N] = W[M x K] * X[K x N]. oneDNN's matmul computes
// dst[rows x cols] = src[rows x K] * weights[K x cols], so
//   src     = X^T  [N x K]  u8, format ab  (= X column-major, as rmsmp's activations are stored)
//   weights = W^T  [K x M]  s8, created as format "any" and reordered once, outside the timed
//                           loop, into the layout the chosen implementation prefers
//   dst     = Y^T  [N x M]  s32, format ab (= Y column-major, as rmsmp writes it)
// with a run-time source zero point (the same 3 as rmsmp's activations), so both compute
// sum_k w * (x - zero_point) into raw int32 and count the same 2*M*K*N ops.
// The primitive is created once per benchmark; the cold GEMV rotates through separately
// reordered weight memories.
//
// onednn_s8_ba (GEMV only): the same with the weights forced to format ba (each output's K
// weights contiguous, i.e. W row-major) instead of "any". oneDNN 2.6 on AVX2 without VNNI
// answers "any" with ab, which is slower for GEMV than ba on this machine, so both are timed
// to keep the peer from looking worse than it can be.
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "common.hpp"
#include "oneapi/dnnl/dnnl.hpp"

namespace rmsmp_bench {
namespace {

using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

constexpr std::int32_t zero_point = 3;

struct OnednnSetup {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
  bool with_zero_point = true;
  std::vector<std::uint8_t> x;  // N x K row-major (= K x N column-major)
  std::vector<std::int8_t> w0;  // first copy as M x K row-major, for the spot check
  std::vector<memory> weights;  // one reordered weight memory per copy
  memory src, dst, zp;
  std::string impl;
};

void run(const OnednnSetup& s, const memory& weights);

std::unique_ptr<OnednnSetup> make_setup(const Case& c, tag weight_tag) {
  const auto M = static_cast<memory::dim>(c.s.M), K = static_cast<memory::dim>(c.s.K),
             N = static_cast<memory::dim>(c.s.N);
  auto s = std::make_unique<OnednnSetup>();
  const memory::desc src_md({N, K}, dt::u8, tag::ab);
  const memory::desc wei_any({K, M}, dt::s8, weight_tag);
  const memory::desc wei_user({K, M}, dt::s8, tag::ba);  // W row-major M x K
  const memory::desc dst_md({N, M}, dt::s32, tag::ab);
  const dnnl::matmul::desc desc(src_md, wei_any, dst_md);
  try {
    dnnl::primitive_attr attr;
    attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
    s->pd = dnnl::matmul::primitive_desc(desc, attr, s->engine);
  } catch (const dnnl::error&) {  // no implementation with a source zero point: time without
    s->with_zero_point = false;
    s->pd = dnnl::matmul::primitive_desc(desc, s->engine);
  }
  s->prim = dnnl::matmul(s->pd);
  s->impl = s->pd.impl_info_str();

  std::mt19937 rng(1);
  s->x.resize(static_cast<std::size_t>(N * K));
  for (auto& v : s->x) v = static_cast<std::uint8_t>(rng() & 0xFF);
  s->src = memory(src_md, s->engine, s->x.data());
  s->dst = memory(dst_md, s->engine);
  s->zp = memory({{1}, dt::s32, tag::x}, s->engine);
  *static_cast<std::int32_t*>(s->zp.get_data_handle()) = zero_point;

  const double bytes = static_cast<double>(M * K);
  const int copies = c.cold ? cold_copies(static_cast<std::size_t>(bytes)) : 1;
  // |w| <= 64: without VNNI the AVX2 int8 path pairs u8 x s8 products in saturating int16
  // (like rmsmp's vpmaddubsw), which is exact only for such levels. Speed does not depend on it.
  std::vector<std::int8_t> w(static_cast<std::size_t>(M * K));
  for (int i = 0; i < copies; ++i) {
    for (auto& v : w) v = static_cast<std::int8_t>(static_cast<int>(rng() % 129) - 64);
    if (i == 0) s->w0 = w;
    memory user(wei_user, s->engine, w.data());
    memory packed(s->pd.weights_desc(), s->engine);
    dnnl::reorder(user, packed).execute(s->stream, user, packed);
    s->weights.push_back(packed);
  }
  s->stream.wait();
  for (const memory& packed : s->weights) run(*s, packed);  // one untimed call per copy (cold_copies)
  return s;
}

void run(const OnednnSetup& s, const memory& weights) {
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, s.src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, s.dst}};
  if (s.with_zero_point) args.insert({DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, s.zp});
  s.prim.execute(const_cast<dnnl::stream&>(s.stream), args);
  const_cast<dnnl::stream&>(s.stream).wait();
}

/// A few outputs against a plain loop: catches a wrong mapping of the shapes or layouts.
bool spot_check(const OnednnSetup& s, const Case& c) {
  run(s, s.weights.front());
  const auto* y = static_cast<const std::int32_t*>(s.dst.get_data_handle());
  const int zp = s.with_zero_point ? zero_point : 0;
  std::mt19937 rng(7);
  for (int t = 0; t < 16; ++t) {
    const int m = static_cast<int>(rng() % static_cast<unsigned>(c.s.M));
    const int n = static_cast<int>(rng() % static_cast<unsigned>(c.s.N));
    std::int64_t acc = 0;
    for (int k = 0; k < c.s.K; ++k)
      acc += static_cast<std::int64_t>(s.w0[static_cast<std::size_t>(m) * c.s.K + k]) *
             (s.x[static_cast<std::size_t>(n) * c.s.K + k] - zp);
    if (acc != y[static_cast<std::size_t>(n) * c.s.M + m]) return false;
  }
  return true;
}

void run_onednn(benchmark::State& state, const Case& c, tag weight_tag) {
  const auto& s = one_slot<OnednnSetup>(setup_key(c) + (weight_tag == tag::any ? "/any" : "/ba"),
                                        [&] { return make_setup(c, weight_tag); });
  if (!spot_check(s, c)) {
    state.SkipWithError("onednn_s8 result differs from a plain loop");
    return;
  }
  const std::size_t copies = s.weights.size();
  std::size_t i = 0;
  for (auto _ : state) {
    run(s, s.weights[i]);
    benchmark::ClobberMemory();
    if (++i == copies) i = 0;
  }
  const double bytes = static_cast<double>(c.s.M) * c.s.K;
  set_counters(state, c.s, bytes);
  std::string label = s.impl;
  if (!s.with_zero_point) label.append(" no_zero_point");
  if (c.cold) label.append(" ").append(copies_label(static_cast<int>(copies), bytes * static_cast<double>(copies)));
  state.SetLabel(label);
}

}  // namespace

void bm_onednn(benchmark::State& state, Case c) { run_onednn(state, c, tag::any); }

void bm_onednn_ba(benchmark::State& state, Case c) { run_onednn(state, c, tag::ba); }

}  // namespace rmsmp_bench
