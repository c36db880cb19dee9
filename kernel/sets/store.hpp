// All sets, with ipset's commands and their errors, and bounded memory:
// at most kMaxSets sets and a total entry budget across all of them
// (besides each set's maxelem). Changes go through a transaction: a
// command or a whole restore either applies completely or not at all
// (an undo journal, so a restore that fails on its last line costs no copy
// of the sets it touched).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "set.hpp"

namespace norman::sets {

struct Limits {
  std::size_t max_sets = 256;                          // ipset's default max_sets
  std::uint64_t max_entries = std::uint64_t{2} << 20;  // all sets together
  std::uint64_t max_range = std::uint64_t{1} << 20;    // keys one element may stand for
};

inline constexpr std::size_t kMaxNameLen = 31;

class Store {
 public:
  explicit Store(Limits limits = {}) : limits_(limits) {}

  [[nodiscard]] const Set* find(std::string_view name) const;
  [[nodiscard]] std::vector<const Set*> sets() const;  // in ipset's (index) order
  [[nodiscard]] std::uint64_t entries() const { return entries_; }
  [[nodiscard]] const Limits& limits() const { return limits_; }
  // Counts every change that was committed (for the filter: sets changed).
  [[nodiscard]] std::uint64_t generation() const { return generation_; }

  // Every command throws Error (ipset's words and status) having changed
  // nothing of what it was asked, but earlier commands of the transaction
  // stay until rollback().
  void create(const std::string& name, const Header& h, bool exist);
  void add(std::string_view name, std::string_view element, bool exist);
  void del(std::string_view name, std::string_view element, bool exist);
  [[nodiscard]] bool test(std::string_view name, std::string_view element) const;
  void destroy(std::optional<std::string_view> name);
  void flush(std::optional<std::string_view> name);
  void rename(std::string_view from, const std::string& to);
  void swap(std::string_view a, std::string_view b);
  // A rule of the filter table names the set (destroy, rename refuse then).
  void reference(std::string_view name, int delta);

  // Transactions: commit() keeps everything since the last commit or
  // rollback; rollback() undoes it.
  void commit();
  void rollback();

 private:
  struct Undo {
    enum class Kind : std::uint8_t {
      kAdded,
      kDeleted,
      kCreated,
      kDestroyed,
      kFlushed,
      kRenamed,
      kSwapped
    };
    Kind kind;
    std::uint32_t slot;
    std::uint32_t slot2;
    Key key;  // kAdded/kDeleted; kDestroyed/kFlushed/kRenamed: index into saved_
  };

  Set& need(std::string_view name);
  [[nodiscard]] std::optional<std::uint32_t> slot_of(std::string_view name) const;
  [[nodiscard]] std::vector<std::uint32_t> slots_named(std::optional<std::string_view> name) const;
  void insert(std::uint32_t slot, Key k);
  void erase(std::uint32_t slot, Key k);

  Limits limits_;
  std::vector<std::optional<Set>> slots_;
  std::uint64_t entries_ = 0;
  std::uint64_t generation_ = 0;
  std::vector<Undo> journal_;
  std::vector<Set> saved_;  // whole sets a destroy or flush removed, until commit
};

}  // namespace norman::sets
