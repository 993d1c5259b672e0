#pragma once
// Force-included (-include) first into the sources of `tok` that include CLI11, which includes
// <iostream>. With GCC 12's libstdc++, <iostream> gives every translation unit a static
// std::ios_base::Init whose constructor (the eight standard streams and the classic locale) costs
// ~50k instructions before main, 12% of a whole cache hit (callgrind), whether or not a stream is
// ever used. This is <iostream> without that object: it declares the standard streams and takes
// <iostream>'s include guard. main constructs one std::ios_base::Init itself on every path but the
// cache hit's fast path, which prints with fmt only, before anything may use the streams
// (CLI11's help and errors). Elsewhere (GCC 13 and later initialise the streams once inside the
// library; other libraries have no such guard) <iostream> is included as usual: correct either way.
#include <istream>
#include <ostream>
#if defined(__GLIBCXX__) && !defined(_GLIBCXX_IOSTREAM)
#define _GLIBCXX_IOSTREAM 1
namespace std _GLIBCXX_VISIBILITY(default) {
_GLIBCXX_BEGIN_NAMESPACE_VERSION
extern istream cin;
extern ostream cout;
extern ostream cerr;
extern ostream clog;
extern wistream wcin;
extern wostream wcout;
extern wostream wcerr;
extern wostream wclog;
_GLIBCXX_END_NAMESPACE_VERSION
}  // namespace std
#endif
