#pragma once
// Standard streams may be closed when tok starts (credential helpers and CI runners do that).
// A descriptor the program keeps must then not land on 0, 1 or 2: a later dup2 of /dev/null
// would close it, and a token printed to "stdout" would go into it (refresh-engine.md 8).

namespace tok {

// Moves `fd` to the lowest free descriptor >= 3 (close-on-exec) when it is 0, 1 or 2; returns
// the descriptor to use (or -1 when it was -1 or cannot be moved: then it is closed).
int above_stdio(int fd);

// Opens /dev/null (read-only) on whichever of 0, 1 and 2 is closed, so that nothing else lands
// there; writes to a stream that was closed still fail.
// Returns a bit mask of the streams that were closed (1 << fd).
unsigned fill_closed_stdio();

}  // namespace tok
