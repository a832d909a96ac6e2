// Compile-time facts of the public types, checked by static_assert alone: this file only has
// to compile. Runtime behaviour is tested under tests/unit.
#include "rmsmp/rmsmp.hpp"

namespace {

using namespace rmsmp;

// Code books are usable at compile time and carry the papers' integer levels.
static_assert(Fixed<4>::codebook.max_level == 7);
static_assert(Fixed<8>::codebook.max_level == 127);
static_assert(PoT<4>::codebook.max_level == 64);
static_assert(PoT<4>::codebook.level[7] == 64 && PoT<4>::codebook.level[15] == -64);
static_assert(SP2<4>::codebook.max_level == 8);
static_assert(SP2<4>::codebook.level[7] == 5);  // q1 = 1/8, q2 = 1/2 -> 5/8 of 8
static_assert(PoT<4>::codebook.multiply_free && SP2<4>::codebook.multiply_free);
static_assert(!Fixed<4>::codebook.multiply_free);

// The Scheme concept accepts scheme tags and nothing else.
static_assert(Scheme<Fixed<2>> && Scheme<PoT<3>> && Scheme<SP2<5>>);
static_assert(!Scheme<int> && !Scheme<SchemeId>);

// Row mixes are compile-time values.
static_assert(Mix60_35_5::scheme_count == 3);
static_assert(Mix60_35_5::is_static && !DynamicRowMix::is_static);
static_assert(Mix60_35_5::row_counts(100)[0] == 60);
static_assert(Mix60_35_5::index_of(Fixed<8>::id) == 2);

// Sub-byte storage as types.
static_assert(CodeStorage<4>::codes_per_byte == 2 && CodeStorage<4>::row_bytes(17) == 9);
static_assert(CodeStorage<8>::codes_per_byte == 1 && CodeStorage<8>::row_bytes(17) == 17);

// Output types follow the last stage of the pipeline.
static_assert(std::is_same_v<OutputPipeline<>::output_type, std::int32_t>);
static_assert(std::is_same_v<OutputPipeline<BiasAdd, Requantize, Clamp, SaturatingCast<std::int8_t>>::output_type, std::int8_t>);
static_assert(std::is_same_v<OutputPipeline<Requantize, SaturatingCast<std::uint8_t>>::output_type, std::uint8_t>);
static_assert(std::is_same_v<OutputPipeline<BiasAdd, Clamp, ToFloat>::output_type, float>);

// The accumulator bound: Fixed-8 weights with full-range uint8 activations.
static_assert(max_safe_depth(127, 255) == 66311);
static_assert(max_safe_depth(64, 15) == 2236962);
static_assert(activation_max<std::uint8_t>(4) == 15 && activation_min<std::int8_t>(8) == -128);

// A static mix's matrix and a dynamic one are distinct types with one interface.
static_assert(!std::is_same_v<MixedRowMatrix<Mix60_35_5>, MixedRowMatrix<>>);
static_assert(std::is_same_v<MixedRowMatrix<>::mix_type, DynamicRowMix>);

}  // namespace
