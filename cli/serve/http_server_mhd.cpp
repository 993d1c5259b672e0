// tok-serve.so: the HttpServer seam (cli/serve/http_server.hpp) over libmicrohttpd. Only `tok serve`
// loads it. Nothing but plain data crosses the module boundary, and no exception does.
//
// Why this library and these numbers: docs/serve.md. In short, an epoll event loop on a few
// threads, so idle or slow connections cost a socket and a little memory, never a thread; every
// request is answered as soon as its headers are in, so a body is never read.
#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>

#include "cli/serve/http_server.hpp"

namespace tok {
namespace {

// The default limits (ServerLimits): 4 event-loop threads (a request whose token must first be
// fetched blocks its thread, and the connections that thread serves, for that fetch; the others
// keep answering); 512 connections at once, the one beyond waits in the listen backlog; a
// connection that sends nothing for 10 s is closed (headers half sent, or kept alive idle).
// Per connection: the request line and headers must fit (SDK requests are a few hundred bytes).
constexpr std::size_t kConnectionMemory = 16 * 1024;
// After stop(): how long requests in flight (a token fetch) may still finish. SIGTERM must end
// the process within 2 s.
constexpr auto kGrace = std::chrono::milliseconds(1500);

// Where a request is, in its state pointer: headers read; answered (sent by libmicrohttpd
// later); answered by the handler and in flight until sent.
char kHeadersIn;
char kAnswered;
char kInFlight;

// libmicrohttpd 0.9 parses the request in place and keeps a header's value as a C string: a NUL
// sent inside a value ends it there, and the rest of the line is never seen (`Host: 127.0.0.1\0.evil`
// reads as "127.0.0.1"). A value's line ends right after it when the byte past its terminator is
// the line's end ('\n', or the '\0' written over it); anything else is the rest of a line cut at
// a NUL (or the next line after a bare LF, which no client of these protocols sends). The byte
// read is inside the request's buffer: the empty line that ends every header comes after it.
bool cut_at_nul(const char* value, std::size_t size) {
  if (value == nullptr || size == 0) return false;
  const char after = value[size + 1];
  return after != '\0' && after != '\n';
}

// Every header with its length; a value cut at a NUL keeps a NUL at its end, so that the rules
// that read it (cli/serve/serve_protocols.hpp) refuse it instead of reading less than was sent.
MHD_Result collect(void* cls, MHD_ValueKind, const char* key, std::size_t key_size, const char* value,
                   std::size_t value_size) {
  std::string text = value ? std::string(value, value_size) : std::string();
  if (cut_at_nul(value, value_size)) text.push_back('\0');
  static_cast<std::vector<std::pair<std::string, std::string>>*>(cls)->emplace_back(
      key ? std::string(key, key_size) : std::string(), std::move(text));
  return MHD_YES;
}

MHD_Result collect_param(void* cls, MHD_ValueKind, const char* key, const char* value) {
  static_cast<std::multimap<std::string, std::string>*>(cls)->emplace(key ? key : "", value ? value : "");
  return MHD_YES;
}

class MhdServer final : public HttpServer {
 public:
  ~MhdServer() override {
    if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
    if (listen_fd_ >= 0) ::close(listen_fd_);
  }

  int bind(const std::string& host, int port, std::string& problem) override {
    const auto fail = [&] {
      problem = "cannot listen on " + host + ":" + std::to_string(port) + " (" + std::strerror(errno) + ")";
      return -1;
    };
    sockaddr_storage addr{};
    socklen_t length = 0;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
    if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
      v4->sin_family = AF_INET;
      v4->sin_port = htons(static_cast<std::uint16_t>(port));
      length = sizeof(sockaddr_in);
    } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
      v6->sin6_family = AF_INET6;
      v6->sin6_port = htons(static_cast<std::uint16_t>(port));
      length = sizeof(sockaddr_in6);
    } else {
      problem = "'" + host + "' is not an address";
      return -1;
    }
    listen_fd_ = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listen_fd_ < 0) return fail();
    const int on = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (addr.ss_family == AF_INET6) ::setsockopt(listen_fd_, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), length) != 0 || ::listen(listen_fd_, 256) != 0) {
      return fail();
    }
    length = sizeof local_;
    if (::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&local_), &length) != 0) return fail();
    return ntohs(local_.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&local_)->sin6_port
                                               : reinterpret_cast<sockaddr_in*>(&local_)->sin_port);
  }

  void limit(const ServerLimits& limits) override { limits_ = limits; }
  int adopt(int fd, std::string& problem) override {
    int type = 0;
    int listening = 0;
    socklen_t size = sizeof type;
    socklen_t length = sizeof local_;
    if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) != 0 || type != SOCK_STREAM ||
        ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &(size = sizeof listening)) != 0 || listening == 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&local_), &length) != 0 ||
        (local_.ss_family != AF_INET && local_.ss_family != AF_INET6)) {
      problem = "the socket passed is not a listening TCP socket";
      return -1;
    }
    // As bind() makes its own: non-blocking (the pool's threads accept in turn), closed on exec.
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    listen_fd_ = fd;
    return ntohs(local_.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&local_)->sin6_port
                                               : reinterpret_cast<sockaddr_in*>(&local_)->sin_port);
  }

  bool run(ServerHandler handler, ServerLogger logger, ConnectionFilter admit, const World& world) override {
    world_ = &world;
    handler_ = std::move(handler);
    logger_ = std::move(logger);
    admit_ = std::move(admit);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_TURBO;
    if (local_.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    daemon_ = MHD_start_daemon(flags, 0, &accept_policy, this, &access, this,               //
                               MHD_OPTION_LISTEN_SOCKET, listen_fd_,                        //
                               MHD_OPTION_THREAD_POOL_SIZE, limits_.threads,                //
                               MHD_OPTION_CONNECTION_LIMIT, limits_.connections,            //
                               MHD_OPTION_CONNECTION_TIMEOUT, limits_.idle_seconds,         //
                               MHD_OPTION_CONNECTION_MEMORY_LIMIT, kConnectionMemory,       //
                               MHD_OPTION_NOTIFY_CONNECTION, &connection_started, nullptr,  //
                               MHD_OPTION_NOTIFY_COMPLETED, &request_completed, this,       //
                               MHD_OPTION_END);
    if (daemon_ == nullptr) return true;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [this] { return stopping_.load(); });
    }
    // Stop accepting; the listening socket is ours again (closed by the destructor).
    MHD_quiesce_daemon(daemon_);
    {
      std::unique_lock lock(mutex_);
      if (!changed_.wait_for(lock, kGrace, [this] { return in_flight_.load() == 0; })) return false;
    }
    // Nothing is in a handler, and no handler starts any more (stopping_): this returns at once,
    // closing the connections still open, idle or half sent.
    MHD_stop_daemon(daemon_);
    daemon_ = nullptr;
    return true;
  }

  void stop() override {
    std::lock_guard lock(mutex_);
    stopping_.store(true);
    changed_.notify_all();
  }

 private:
  static MHD_Result accept_policy(void* cls, const sockaddr* peer, socklen_t length) {
    auto* self = static_cast<MhdServer*>(cls);
    sockaddr_storage copy{};
    std::memcpy(&copy, peer, std::min<std::size_t>(length, sizeof copy));
    try {
      return !self->admit_ || self->admit_(self->local_, copy) ? MHD_YES : MHD_NO;
    } catch (...) {
      return MHD_NO;
    }
  }

  // SDKs keep their connection open and ask again on it: without TCP_NODELAY each answer waits
  // for the client's delayed ACK (~40 ms, Nagle's algorithm).
  static void connection_started(void*, MHD_Connection* connection, void**, MHD_ConnectionNotificationCode code) {
    if (code != MHD_CONNECTION_NOTIFY_STARTED) return;
    const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (info == nullptr) return;
    const int on = 1;
    ::setsockopt(info->connect_fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  }

  // Called first once the request line and headers are in. A request that announces a body is
  // answered then (the handler refuses it), so the body is never read: libmicrohttpd closes the
  // connection after such an early answer. Any other request is answered on the second call, when
  // libmicrohttpd knows the request is complete and keeps the connection alive.
  static MHD_Result access(void* cls, MHD_Connection* connection, const char* url, const char* method, const char*,
                           const char*, std::size_t* upload_size, void** request_state) {
    auto* self = static_cast<MhdServer*>(cls);
    if (*request_state == nullptr) {
      const char* length = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
      const bool body = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING) ||
                        (length != nullptr && std::strcmp(length, "0") != 0);
      if (!body) {
        *request_state = &kHeadersIn;
        return MHD_YES;
      }
    } else if (*request_state != &kHeadersIn) {  // called again with body bytes: already answered
      *upload_size = 0;
      return MHD_YES;
    }
    *request_state = &kAnswered;
    // Timed only for the -v log line.
    const Deadline start = self->logger_ ? self->world_->steady_now() : Deadline{};
    ServerResponse response;
    ServerRequest request;
    try {
      request.method = method;
      request.path = url;
      MHD_get_connection_values_n(connection, MHD_HEADER_KIND, &collect, &request.headers);
      MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, &collect_param, &request.params);
      if (self->enter()) {
        // In flight until libmicrohttpd has sent the answer (request_completed).
        *request_state = &kInFlight;
        try {
          response = self->handler_(request);
        } catch (...) {
          response = ServerResponse{500, "text/plain", "internal error\n", {}, "internal error"};
        }
      } else {
        response = ServerResponse{503, "text/plain", "tok serve is stopping\n", {{"Connection", "close"}}, "stopping"};
      }
    } catch (...) {
      return MHD_NO;  // out of memory: libmicrohttpd closes the connection
    }
    MHD_Response* answer =
        MHD_create_response_from_buffer(response.body.size(), response.body.data(), MHD_RESPMEM_MUST_COPY);
    if (answer == nullptr) return MHD_NO;
    MHD_add_response_header(answer, MHD_HTTP_HEADER_CONTENT_TYPE, response.content_type.c_str());
    for (const auto& [name, value] : response.headers) MHD_add_response_header(answer, name.c_str(), value.c_str());
    const MHD_Result queued = MHD_queue_response(connection, static_cast<unsigned>(response.status), answer);
    MHD_destroy_response(answer);
    if (self->logger_) {
      try {
        self->logger_(request, response,
                      std::chrono::duration<double, std::milli>(self->world_->steady_now() - start).count());
      } catch (...) {
      }
    }
    return queued;
  }

  // The answer was sent, or the connection died: a request that entered is no longer in flight.
  static void request_completed(void* cls, MHD_Connection*, void** request_state, MHD_RequestTerminationCode) {
    if (*request_state == &kInFlight) static_cast<MhdServer*>(cls)->leave();
    *request_state = nullptr;
  }

  // Lock-free on the request path; stop() and run() meet under the mutex. Both sides are
  // sequentially consistent: a request either sees stopping_ or is counted before run() looks.
  bool enter() {
    in_flight_.fetch_add(1);
    if (!stopping_.load()) return true;
    leave();
    return false;
  }

  void leave() {
    if (in_flight_.fetch_sub(1) == 1 && stopping_.load()) {
      std::lock_guard lock(mutex_);
      changed_.notify_all();
    }
  }

  int listen_fd_ = -1;
  ServerLimits limits_;
  sockaddr_storage local_{};
  MHD_Daemon* daemon_ = nullptr;
  ServerHandler handler_;
  ServerLogger logger_;
  ConnectionFilter admit_;
  const World* world_ = nullptr;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> in_flight_{0};
};

}  // namespace
}  // namespace tok

extern "C" __attribute__((visibility("default"))) tok::HttpServer* tok_create_http_server() {
  try {
    return new tok::MhdServer();
  } catch (...) {
    return nullptr;
  }
}

// For `tok version`.
extern "C" __attribute__((visibility("default"))) const char* tok_module_version() {
  static const std::string version = std::string("libmicrohttpd ") + MHD_get_version();
  return version.c_str();
}
