// A cache entry (and the failure record of a lock file) someone edited: what decodes encodes and
// decodes to the same thing; instants stay in 1970..2200, so no arithmetic on them overflows.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/cache_store.hpp"
#include "core/duration.hpp"
#include "core/policy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (const auto entry = tok::decode_entry(text)) {
    const auto again = tok::decode_entry(tok::encode_entry(*entry));
    if (!again || again->token != entry->token || again->generation != entry->generation ||
        again->stale_after != entry->stale_after) {
      __builtin_trap();
    }
    const tok::EngineSettings settings;
    const tok::TimePoint now{std::chrono::seconds(1795000000)};
    (void)tok::state_of(*entry, now, settings, tok::kMaxDuration);
    (void)tok::cooldown_until(*entry, now);
  }
  // A hit's read (all but the memo) of anything: no crash. Of what tok writes: the same entry as
  // the whole read, the memo aside. (Of text tok did not write, the two may differ: a key repeated
  // after the memo is seen by the whole read only.)
  (void)tok::decode_entry(text, tok::EntryPart::head);
  if (const auto whole = tok::decode_entry(text)) {
    const auto head = tok::decode_entry(tok::encode_entry(*whole), tok::EntryPart::head);
    if (!head || head->token != whole->token || head->generation != whole->generation ||
        head->stale_after != whole->stale_after || !head->memo_unread) {
      __builtin_trap();
    }
  }
  if (const auto failure = tok::decode_failure(text)) {
    if (!tok::decode_failure(tok::encode_failure(*failure))) __builtin_trap();
  }
  return 0;
}
