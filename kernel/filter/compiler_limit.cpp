#include "compiler_limit.hpp"

#include "chain_graph.hpp"
#include "compiler.hpp"

namespace norman::filter::detail {

void refuse_limits(const Chain& chain, std::size_t i) {
  const Rule& r = chain.rules[i];
  if (!r.limit && !r.hashlimit) return;
  // Dropping the match would turn a rate limit into "always" (an ACCEPT for
  // every packet, or a DROP for every one): refuse instead. The model and
  // the limiter design are in docs/ratelimit.md.
  throw CompileError(std::string("nfw: -m ") + (r.limit ? "limit" : "hashlimit") +
                     " is not enforced by the NIC yet " + where(chain, i) +
                     " (see docs/ratelimit.md)");
}

}  // namespace norman::filter::detail
