// rmsmp/rmsmp.hpp — everything public, in data-path order:
// scheme -> quantize/assign -> pack -> output pipeline -> kernel.
#pragma once

#include "rmsmp/version.hpp"
#include "rmsmp/error.hpp"

#include "rmsmp/scheme/scheme.hpp"
#include "rmsmp/scheme/row_mix.hpp"

#include "rmsmp/quantize/row_quantizer.hpp"
#include "rmsmp/quantize/assignment.hpp"
#include "rmsmp/quantize/activations.hpp"

#include "rmsmp/pack/packed_codes.hpp"
#include "rmsmp/pack/mixed_row_matrix.hpp"

#include "rmsmp/output/fixed_point_multiplier.hpp"
#include "rmsmp/output/pipeline.hpp"

#include "rmsmp/kernel/contract.hpp"
#include "rmsmp/kernel/reference.hpp"

#include "rmsmp/kernel/cpu/arch.hpp"
#include "rmsmp/kernel/cpu/packed_weights.hpp"
#include "rmsmp/kernel/cpu/thread_pool.hpp"
#include "rmsmp/kernel/cpu/gemm.hpp"

#include "rmsmp/kernel/rtl/engine.hpp"
#include "rmsmp/kernel/rtl/cycle_model.hpp"
#include "rmsmp/kernel/rtl/backend.hpp"

#include "rmsmp/model/float_model.hpp"
