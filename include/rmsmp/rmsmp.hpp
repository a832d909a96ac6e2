// rmsmp/rmsmp.hpp — everything public, in data-path order:
// core -> scheme -> quantize/assign -> pack -> output pipeline -> kernel -> layers -> model -> io
// (the order tests/tools/include_order.cmake enforces between the folders).
// Not included: rmsmp/io/float_model_manifest.hpp. It brings in nlohmann/json.hpp, which
// nearly doubles the compile time of every file that includes this one; include it where
// manifests are read.
#pragma once

#include "rmsmp/version.hpp"
#include "rmsmp/error.hpp"
#include "rmsmp/core/activations.hpp"
#include "rmsmp/core/cpu_arch.hpp"
#include "rmsmp/core/tensor.hpp"

#include "rmsmp/scheme/scheme.hpp"
#include "rmsmp/scheme/row_mix.hpp"

#include "rmsmp/quantize/row_quantizer.hpp"
#include "rmsmp/quantize/weighted_scale_search.hpp"
#include "rmsmp/quantize/assignment.hpp"
#include "rmsmp/quantize/hessian.hpp"
#include "rmsmp/quantize/min_cost_assignment.hpp"
#include "rmsmp/quantize/assignment_rules.hpp"
#include "rmsmp/quantize/error_compensation.hpp"
#include "rmsmp/quantize/calibration.hpp"

#include "rmsmp/pack/packed_codes.hpp"
#include "rmsmp/pack/mixed_row_matrix.hpp"

#include "rmsmp/output/fixed_point_multiplier.hpp"
#include "rmsmp/output/pipeline.hpp"

#include "rmsmp/kernel/contract.hpp"
#include "rmsmp/kernel/backend.hpp"
#include "rmsmp/kernel/reference.hpp"

#include "rmsmp/kernel/cpu/packed_weights.hpp"
#include "rmsmp/kernel/cpu/thread_pool.hpp"
#include "rmsmp/kernel/cpu/gemm.hpp"
#include "rmsmp/kernel/cpu/prepared_matrix.hpp"
#include "rmsmp/kernel/cpu/backend.hpp"

#include "rmsmp/kernel/rtl/engine.hpp"
#include "rmsmp/kernel/rtl/cycle_model.hpp"
#include "rmsmp/kernel/rtl/run_statistics.hpp"
#include "rmsmp/kernel/rtl/backend.hpp"

#include "rmsmp/layers/window.hpp"
#include "rmsmp/layers/im2col.hpp"
#include "rmsmp/layers/pooling.hpp"
#include "rmsmp/layers/relu.hpp"
#include "rmsmp/layers/residual_add.hpp"

#include "rmsmp/model/float_model.hpp"
#include "rmsmp/model/model_graph.hpp"
#include "rmsmp/model/float_executor.hpp"
#include "rmsmp/model/quantized_model.hpp"
#include "rmsmp/model/layer_quantizer.hpp"
#include "rmsmp/model/weight_quantizer.hpp"
#include "rmsmp/model/quantize_model.hpp"
#include "rmsmp/model/executor.hpp"
#include "rmsmp/model/engine_fit.hpp"

#include "rmsmp/io/binary_file.hpp"
#include "rmsmp/io/serialize.hpp"
#include "rmsmp/io/quantized_model_file.hpp"
#include "rmsmp/io/ndarray.hpp"
#include "rmsmp/io/npy.hpp"
#if __has_include(<zlib.h>)  // these two need zlib; see io/idx.hpp
#include "rmsmp/io/idx.hpp"
#include "rmsmp/io/array_file.hpp"
#endif
