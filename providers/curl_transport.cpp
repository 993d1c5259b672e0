// The libcurl transport, built as the tok-curl.so module and loaded by curl_transport() on the
// first fetch. Nothing on the cache-hit path links or loads it.
#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <string>

#include "providers/http.hpp"

namespace tok {
namespace {

struct Transfer {
  HttpResponse* response;
  std::size_t max_body;
  bool too_large = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (t->response->body.size() + n > t->max_body) {
    t->too_large = true;
    return 0;  // aborts the transfer: a body this big is not a token response
  }
  t->response->body.append(data, n);
  return n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  std::string_view line(data, n);
  if (line.rfind("HTTP/", 0) == 0) {
    t->response->headers.clear();  // a new response (after 100 Continue): keep only its headers
    return n;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
  t->response->headers.emplace_back(std::move(name), std::string(value));
  return n;
}

TransportFailure classify(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return TransportFailure::connect;
    case CURLE_OPERATION_TIMEDOUT: return TransportFailure::timeout;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return TransportFailure::transfer;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_CACERT_BADFILE: return TransportFailure::tls;
    default: return TransportFailure::other;
  }
}

// Which check refused the server, in words a user can act on, from OpenSSL's verify result (the
// X509_V_ERR_* numbers, stable across OpenSSL versions) and libcurl's own host name check.
std::string describe_tls_failure(CURLcode code, long verify_result, const std::string& detail) {
  std::string check;
  switch (verify_result) {
    case 2:   // X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
    case 18:  // X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
    case 19:  // X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
    case 20:  // X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    case 21:  // X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE
      check = "certificate signed by an unknown authority (set ca_bundle to the CA file if the server uses a private "
              "CA)";
      break;
    case 9: check = "certificate not valid yet"; break;     // X509_V_ERR_CERT_NOT_YET_VALID
    case 10: check = "certificate expired"; break;          // X509_V_ERR_CERT_HAS_EXPIRED
    case 23: check = "certificate revoked"; break;          // X509_V_ERR_CERT_REVOKED
    case 62:                                                 // X509_V_ERR_HOSTNAME_MISMATCH
    case 64: check = "host name mismatch: the certificate is for another host"; break;  // IP_ADDRESS_MISMATCH
    default:
      if (detail.find("subject name") != std::string::npos || detail.find("does not match") != std::string::npos) {
        check = "host name mismatch: the certificate is for another host";
      } else if (code == CURLE_SSL_CACERT_BADFILE) {
        check = "cannot use the CA file (ca_bundle)";
      } else if (code == CURLE_PEER_FAILED_VERIFICATION) {
        check = "certificate verification failed";
      } else {
        check = "handshake failed";
      }
  }
  return "TLS: " + check + " (" + detail + ")";
}

class CurlTransport final : public HttpTransport {
 public:
  HttpResult perform(const HttpRequest& request) override {
    static std::once_flag init;
    std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    HttpResult result;
    CURL* curl = curl_easy_init();
    if (curl == nullptr) {
      result.failure = TransportFailure::other;
      result.error = "cannot initialise libcurl";
      return result;
    }
    Transfer transfer{&result.response, request.max_body};
    curl_slist* headers = nullptr;
    for (const auto& h : request.headers) headers = curl_slist_append(headers, h.c_str());
    char error[CURL_ERROR_SIZE] = {0};

    curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);  // credentials never follow a redirect
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!request.ca_bundle.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, request.ca_bundle.c_str());
    // Loopback goes direct whatever the environment says (all of 127.0.0.0/8, not only the names
    // a no_proxy list would hold); other hosts honour the *_proxy variables, over TLS.
    if (request.direct) curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    const long timeout_ms = std::max<long>(1, static_cast<long>(request.timeout.count()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(request.max_body));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "tok/" TOK_VERSION);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
    if (request.method == "POST") {
      curl_easy_setopt(curl, CURLOPT_POST, 1L);
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.c_str());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    } else if (request.method != "GET") {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }

    const CURLcode code = curl_easy_perform(curl);
    if (code == CURLE_OK) {
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.response.status);
    } else if (transfer.too_large || code == CURLE_FILESIZE_EXCEEDED) {
      result.failure = TransportFailure::too_large;
      result.error = "response larger than " + std::to_string(request.max_body / 1024) + " KiB refused";
    } else {
      result.failure = classify(code);
      result.error = error[0] != '\0' ? error : curl_easy_strerror(code);
      if (result.failure == TransportFailure::tls) {
        long verify_result = 0;
        curl_easy_getinfo(curl, CURLINFO_SSL_VERIFYRESULT, &verify_result);
        result.error = describe_tls_failure(code, verify_result, result.error);
      }
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return result;
  }
};

}  // namespace
}  // namespace tok

extern "C" __attribute__((visibility("default"))) tok::HttpTransport* tok_create_curl_transport() {
  return new tok::CurlTransport();
}

// For `tok version`: which libcurl (and TLS library) this module fetches with.
extern "C" __attribute__((visibility("default"))) const char* tok_module_version() { return curl_version(); }
