// The compiler's answer to rate-limit matches while the NIC does not
// enforce them: a refusal naming the rule, so that neither a load nor
// nfw-restore --test accepts a ruleset the NIC would enforce differently
// from Linux. Internal to norman_filter.
#pragma once

#include <cstddef>

#include "ruleset.hpp"

namespace norman::filter::detail {

// Throws CompileError when rule `i` of `chain` has -m limit or -m hashlimit.
void refuse_limits(const Chain& chain, std::size_t i);

}  // namespace norman::filter::detail
