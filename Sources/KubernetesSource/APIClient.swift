import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import YAMLReader

/// GET requests to the API server over HTTPS (AsyncHTTPClient, swift-nio-ssl), with the endpoint's CA,
/// client certificate and bearer token; answers other than 200 become ``APIProblem``s.
public final class APIClient: Sendable {
    public let endpoint: APIEndpoint
    public let tokens: TokenReloader
    let http: HTTPClient

    /// - Throws: a `ConfigError` naming the certificate or key that NIOSSL cannot load.
    public init(endpoint: APIEndpoint, tokens: TokenReloader, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton)
        throws(ConfigError) {
        self.endpoint = endpoint
        self.tokens = tokens
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            if endpoint.tls.insecureSkipVerify {
                tls.certificateVerification = .none
            } else if let ca = endpoint.tls.caPEM {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(ca))
            }
        } catch {
            throw ConfigError(field: "certificate-authority", problem: "not a PEM certificate: \(error)")
        }
        if let cert = endpoint.tls.clientCertificatePEM, let key = endpoint.tls.clientKeyPEM {
            do {
                tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(cert).map { .certificate($0) }
            } catch { throw ConfigError(field: "client-certificate", problem: "not a PEM certificate: \(error)") }
            do {
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
            } catch { throw ConfigError(field: "client-key", problem: "not a PEM private key: \(error)") }
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls, timeout: .init(connect: .seconds(5), read: nil))
        // A watch is a long response; one connection per open watch, as client-go does over HTTP/1.1.
        configuration.httpVersion = .http1Only
        configuration.redirectConfiguration = .disallow
        http = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: configuration)
    }

    /// Closes the connections. Call once, after the last request.
    public func shutdown() async {
        try? await http.shutdown()
    }

    /// Sends `GET path?query` and returns the response once its head says 200; the body is the caller's
    /// to stream. Any other status reads the Status body (at most 64 KiB) into the problem.
    /// - Parameter verb: `list` or `watch`, naming what a 403 forbids.
    public func get(_ path: String, query: String, verb: String, headTimeout: TimeAmount = .seconds(30)) async throws(APIProblem) -> HTTPClientResponse {
        var request = HTTPClientRequest(url: endpoint.server + path + (query.isEmpty ? "" : "?" + query))
        request.method = .GET
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "fedns")
        if let token = tokens.token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: headTimeout)
        } catch {
            throw .unreachable(Self.describe(error))
        }
        guard response.status == .ok else {
            let body = try? await response.body.collect(upTo: 64 << 10)
            let message = body.map { Self.statusMessage(String(buffer: $0)) } ?? response.status.reasonPhrase
            switch response.status.code {
            case 401: throw .unauthorized(message)
            case 403: throw .forbidden(verb: verb, message: message)
            case 410: throw .gone(message)
            default: throw .status(Int(response.status.code), message)
            }
        }
        return response
    }

    /// The `message` of a Kubernetes `Status` body, else the body's first 200 characters.
    static func statusMessage(_ body: String) -> String {
        if let data = body.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let message = object["message"] as? String, !message.isEmpty {
            return message
        }
        let trimmed = body.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? "(no body)" : String(trimmed.prefix(200))
    }

    /// A short description of a transport error (connection refused, TLS handshake failure, …).
    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError { return "\(error)" }
        if let error = error as? NIOSSLError { return "TLS: \(error)" }
        if let error = error as? BoringSSLError { return "TLS: \(error)" }
        return "\(error)"
    }
}
