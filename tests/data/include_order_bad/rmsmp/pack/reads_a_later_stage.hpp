// A fixture for include_order.cmake's own test: pack/ must not include io/.
#pragma once
#include "rmsmp/io/npy.hpp"
