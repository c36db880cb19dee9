// sched_conn_map: after reset every connection is the default leaf's (also
// during the clear), a write maps or unmaps exactly one connection.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <vector>

#include "Vsched_conn_map.h"
#include "verilated.h"

namespace {

constexpr unsigned kConns = 256, kLeaves = 32, kDefault = 7;

class Map {
 public:
  Map() {
    top_->default_leaf_i = kDefault;
    top_->clk_i = 0;
    top_->rst_ni = 1;
    top_->eval();
    top_->rst_ni = 0;
    top_->eval();
    top_->rst_ni = 1;
    top_->eval();
  }
  void tick() {
    top_->clk_i = 1;
    top_->eval();
    top_->clk_i = 0;
    top_->eval();
  }
  unsigned lookup(unsigned c) {
    top_->lk_valid_i = 1;
    top_->lk_conn_i = static_cast<CData>(c);
    tick();
    top_->lk_valid_i = 0;
    EXPECT_TRUE(top_->lk_valid_o);
    EXPECT_EQ(top_->lk_conn_o, c);
    return top_->lk_leaf_o;
  }
  std::unique_ptr<Vsched_conn_map> top_ = std::make_unique<Vsched_conn_map>();
};

TEST(SchedConnMap, DefaultUntilMappedAndExactWrites) {
  Map m;
  // Lookups during the clear answer the default.
  EXPECT_FALSE(m.top_->wr_ready_o);
  EXPECT_EQ(m.lookup(5), kDefault);
  while (!m.top_->wr_ready_o) m.tick();
  std::vector<int> ref(kConns, -1);
  std::mt19937 g(1);
  for (unsigned i = 0; i < 2000; ++i) {
    const auto c = static_cast<unsigned>(g() % kConns);
    if (g() % 2) {
      const bool en = g() % 4 != 0;
      const auto leaf = static_cast<unsigned>(g() % kLeaves);
      m.top_->wr_valid_i = 1;
      m.top_->wr_conn_i = static_cast<CData>(c);
      m.top_->wr_en_i = en;
      m.top_->wr_leaf_i = static_cast<CData>(leaf);
      m.tick();
      m.top_->wr_valid_i = 0;
      ref[c] = en ? static_cast<int>(leaf) : -1;
    } else {
      const unsigned want = ref[c] < 0 ? kDefault : static_cast<unsigned>(ref[c]);
      ASSERT_EQ(m.lookup(c), want) << "conn " << c;
    }
  }
}

}  // namespace
