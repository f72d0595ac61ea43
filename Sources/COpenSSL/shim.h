#ifndef KUBEMETER_COPENSSL_SHIM_H
#define KUBEMETER_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/pem.h>

// The SSL_CTX_* and SSL_* calls below are macros over SSL_CTX_ctrl/SSL_ctrl, which Swift cannot
// call: these are them.
static inline int kubemeter_ssl_ctx_set_min_proto(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}
static inline int kubemeter_ssl_ctx_set_max_proto(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}
static inline int kubemeter_ssl_ctx_set_groups_list(SSL_CTX *ctx, const char *list) {
    return (int)SSL_CTX_set1_groups_list(ctx, list);
}
// Writes may return after each record (the server's loop resumes where it stopped), the buffer
// may move between a WANT_WRITE and its retry, and idle connections give their buffers back.
static inline void kubemeter_ssl_ctx_set_server_modes(SSL_CTX *ctx) {
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
}
// Takes ownership of cert.
static inline int kubemeter_ssl_ctx_add0_chain_cert(SSL_CTX *ctx, X509 *cert) {
    return (int)SSL_CTX_add0_chain_cert(ctx, cert);
}
static inline void kubemeter_ssl_ctx_no_session_cache(SSL_CTX *ctx) {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    // No TLS 1.3 tickets either: every connection is a full handshake, nothing is kept per client.
    SSL_CTX_set_num_tickets(ctx, 0);
}

// Verification callbacks, in C so that no Swift closure crosses into OpenSSL.
// RequestClientCert / RequireAnyClientCert: a certificate is asked for but never checked.
static int kubemeter_accept_any_certificate(int preverify_ok, X509_STORE_CTX *store) {
    (void)preverify_ok; (void)store;
    return 1;
}
static inline void kubemeter_ssl_ctx_set_verify(SSL_CTX *ctx, int mode, int check) {
    SSL_CTX_set_verify(ctx, mode, check ? NULL : kubemeter_accept_any_certificate);
}

// Options are a uint64_t since OpenSSL 3; the constants are macros of that type.
static inline void kubemeter_ssl_ctx_set_options(SSL_CTX *ctx, int server_preference) {
    uint64_t options = SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_NO_SSLv3
        | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_SINGLE_ECDH_USE;
    if (server_preference) options |= SSL_OP_CIPHER_SERVER_PREFERENCE;
    SSL_CTX_set_options(ctx, options);
}

static inline size_t kubemeter_ssl_pending(const SSL *ssl) {
    return (size_t)SSL_pending(ssl);
}
#endif
