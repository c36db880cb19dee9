#include "store.hpp"

#include <algorithm>
#include <random>
#include <utility>

#include "element.hpp"
#include "error.hpp"

namespace norman::sets {

namespace {

const Error kNoSet("The set with the given name does not exist");

void check_name(std::string_view name) {
  if (name.size() > kMaxNameLen) {
    throw syntax_error("setname '" + std::string(name) + "' is longer than " +
                       std::to_string(kMaxNameLen) + " characters");
  }
  // `save` writes the name unquoted on a line of words: a blank, a control
  // character or a byte outside ASCII would not read back (ipset takes
  // them and then cannot restore its own save).
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      throw syntax_error("setname holds a blank, control or non-ASCII byte (\\x" +
                         std::string(1, "0123456789abcdef"[u >> 4]) +
                         std::string(1, "0123456789abcdef"[u & 15]) +
                         "), which save could not write back");
    }
  }
}

}  // namespace

const Set* Store::find(std::string_view name) const {
  const auto s = slot_of(name);
  return s ? &*slots_[*s] : nullptr;
}

std::optional<std::uint32_t> Store::slot_of(std::string_view name) const {
  for (std::uint32_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i] && slots_[i]->name == name) return i;
  }
  return std::nullopt;
}

Set& Store::need(std::string_view name) {
  const auto s = slot_of(name);
  if (!s) throw kNoSet;
  return *slots_[*s];
}

std::vector<const Set*> Store::sets() const {
  std::vector<const Set*> out;
  for (const auto& s : slots_) {
    if (s) out.push_back(&*s);
  }
  return out;
}

void Store::insert(std::uint32_t slot, Key k) {
  slots_[slot]->insert(k);
  ++entries_;
  journal_.push_back({Undo::Kind::kAdded, slot, 0, k});
}

void Store::erase(std::uint32_t slot, Key k) {
  slots_[slot]->erase(k);
  --entries_;
  journal_.push_back({Undo::Kind::kDeleted, slot, 0, k});
}

void Store::create(const std::string& name, const Header& h, bool exist) {
  check_name(name);
  if (const Set* s = find(name); s != nullptr) {
    // -exist: creating what is there is not an error, if it is the same kind of set.
    if (exist && s->header.type == h.type) return;
    throw Error("Set cannot be created: set with the same name already exists");
  }
  auto free = std::find_if(slots_.begin(), slots_.end(), [](const auto& s) { return !s; });
  if (free == slots_.end()) {
    if (slots_.size() >= limits_.max_sets) {
      throw Error("Kernel error received: maximal number of sets reached (" +
                  std::to_string(limits_.max_sets) + "), cannot create more.");
    }
    slots_.emplace_back();
    free = slots_.end() - 1;
  }
  Set s;
  s.name = name;
  s.header = h;
  *free = std::move(s);
  journal_.push_back(
      {Undo::Kind::kCreated, static_cast<std::uint32_t>(free - slots_.begin()), 0, 0});
}

void Store::add(std::string_view name, std::string_view text, bool exist) {
  const auto slot = slot_of(name);
  if (!slot) throw kNoSet;
  Set& s = *slots_[*slot];
  const Element e = parse_element(s.header, text);
  if (e.count() > limits_.max_range) {
    throw Error("The element stands for " + std::to_string(e.count()) + " entries: at most " +
                std::to_string(limits_.max_range) + " may be added in one command");
  }
  e.for_each([&](Key k) {
    if (s.members.contains(k)) {
      if (exist) return;
      throw Error("Element cannot be added to the set: it's already added");
    }
    if (is_hash(s.header.type) && s.size() >= s.header.maxelem) {
      throw Error("Hash is full, cannot add more elements");
    }
    if (entries_ >= limits_.max_entries) {
      throw Error("normand's set memory is full: all sets together hold at most " +
                  std::to_string(limits_.max_entries) + " entries");
    }
    insert(*slot, k);
  });
}

void Store::del(std::string_view name, std::string_view text, bool exist) {
  const auto slot = slot_of(name);
  if (!slot) throw kNoSet;
  Set& s = *slots_[*slot];
  const Element e = parse_element(s.header, text);
  if (e.count() > limits_.max_range) {
    throw Error("The element stands for " + std::to_string(e.count()) + " entries: at most " +
                std::to_string(limits_.max_range) + " may be deleted in one command");
  }
  e.for_each([&](Key k) {
    if (!s.members.contains(k)) {
      if (exist) return;
      throw Error("Element cannot be deleted from the set: it's not added");
    }
    erase(*slot, k);
  });
}

bool Store::test(std::string_view name, std::string_view text) const {
  const Set* s = find(name);
  if (s == nullptr) throw kNoSet;
  const Element e = parse_element(s->header, text);
  if (e.type == Type::kHashNet && e.host) {
    // A bare address is in a hash:net if any of its prefixes is.
    return s->contains_ip(static_cast<std::uint32_t>(e.first() >> 8));
  }
  return s->members.contains(e.first());
}

// The named set's slot, or every set's when no name is given (ipset's
// destroy and flush without a name act on all sets).
std::vector<std::uint32_t> Store::slots_named(std::optional<std::string_view> name) const {
  std::vector<std::uint32_t> which;
  if (name) {
    const auto slot = slot_of(*name);
    if (!slot) throw kNoSet;
    which.push_back(*slot);
  } else {
    for (std::uint32_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i]) which.push_back(i);
    }
  }
  return which;
}

void Store::destroy(std::optional<std::string_view> name) {
  const std::vector<std::uint32_t> which = slots_named(name);
  for (const auto i : which) {
    if (slots_[i]->references != 0) {
      throw Error("Set cannot be destroyed: it is in use by a kernel component");
    }
  }
  for (const auto i : which) {
    entries_ -= slots_[i]->size();
    saved_.push_back(std::move(*slots_[i]));
    slots_[i].reset();
    journal_.push_back({Undo::Kind::kDestroyed, i, 0, saved_.size() - 1});
  }
}

void Store::flush(std::optional<std::string_view> name) {
  const std::vector<std::uint32_t> which = slots_named(name);
  for (const auto i : which) {
    Set& s = *slots_[i];
    entries_ -= s.size();
    Set old;
    old.members = std::move(s.members);
    old.cidr_count = s.cidr_count;
    s.clear();
    saved_.push_back(std::move(old));
    journal_.push_back({Undo::Kind::kFlushed, i, 0, saved_.size() - 1});
  }
}

void Store::rename(std::string_view from, const std::string& to) {
  const auto slot = slot_of(from);
  if (!slot) throw kNoSet;
  check_name(to);
  if (find(to) != nullptr)
    throw Error("Set cannot be renamed: a set with the new name already exists");
  Set& s = *slots_[*slot];
  if (s.references != 0) throw Error("Set cannot be renamed: it is in use by another system");
  Set old;
  old.name = std::move(s.name);
  s.name = to;
  saved_.push_back(std::move(old));
  journal_.push_back({Undo::Kind::kRenamed, *slot, 0, saved_.size() - 1});
}

namespace {
// Swap exchanges what the sets hold; names and references stay with their
// index (rules keep naming the same name).
void swap_content(Set& a, Set& b) {
  std::swap(a.header, b.header);
  std::swap(a.members, b.members);
  std::swap(a.cidr_count, b.cidr_count);
}
}  // namespace

void Store::swap(std::string_view a, std::string_view b) {
  const auto sa = slot_of(a);
  if (!sa) throw kNoSet;
  const auto sb = slot_of(b);
  if (!sb) throw Error("Sets cannot be swapped: the second set does not exist");
  if (slots_[*sa]->header.type != slots_[*sb]->header.type) {
    throw Error("The sets cannot be swapped: their type does not match");
  }
  swap_content(*slots_[*sa], *slots_[*sb]);
  journal_.push_back({Undo::Kind::kSwapped, *sa, *sb, 0});
}

void Store::reference(std::string_view name, int delta) {
  need(name).references += static_cast<std::uint32_t>(delta);
}

void Store::commit() {
  if (!journal_.empty()) ++generation_;
  journal_.clear();
  saved_.clear();
}

void Store::rollback() {
  for (auto it = journal_.rbegin(); it != journal_.rend(); ++it) {
    switch (it->kind) {
      case Undo::Kind::kAdded:
        slots_[it->slot]->erase(it->key);
        --entries_;
        break;
      case Undo::Kind::kDeleted:
        slots_[it->slot]->insert(it->key);
        ++entries_;
        break;
      case Undo::Kind::kCreated:
        slots_[it->slot].reset();
        break;
      case Undo::Kind::kDestroyed:
        slots_[it->slot] = std::move(saved_[it->key]);
        entries_ += slots_[it->slot]->size();
        break;
      case Undo::Kind::kFlushed: {
        Set& s = *slots_[it->slot];
        s.members = std::move(saved_[it->key].members);
        s.cidr_count = saved_[it->key].cidr_count;
        entries_ += s.size();
        break;
      }
      case Undo::Kind::kRenamed:
        slots_[it->slot]->name = std::move(saved_[it->key].name);
        break;
      case Undo::Kind::kSwapped:
        swap_content(*slots_[it->slot], *slots_[it->slot2]);
        break;
    }
  }
  journal_.clear();
  saved_.clear();
  // Free slots at the end are dropped so that the next create takes the
  // index it would have had.
  while (!slots_.empty() && !slots_.back()) slots_.pop_back();
}

}  // namespace norman::sets
