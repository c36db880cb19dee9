// The small filter_lookup model of filter_small_test (tests/rtl/filter/
// CMakeLists.txt: keep the two in step): 64 range slots, and exact tables of
// the register map's hash with 8 buckets per table, so that buckets fill up,
// ways tie and tables compete with a few dozen entries.
#pragma once

#include "Vfilter_lookup_small.h"
#include "filter_tb.hpp"

namespace filter_tb {

inline constexpr unsigned kSmallEntries = 64;
inline constexpr ExactGeom kSmallGeom{4, 3, 4};
using SmallModel = Vfilter_lookup_small;

}  // namespace filter_tb
