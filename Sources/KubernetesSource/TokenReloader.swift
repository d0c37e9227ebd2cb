import Clocks
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The bearer token of every request. A token file (the projected service-account token, which the
/// kubelet rotates; a kubeconfig `tokenFile`) is re-read when its modification time or size changes,
/// checked at most every `checkInterval`, and at once after a 401 (``reloadNow()``).
public final class TokenReloader: ServiceLifecycle.Service, Sendable {
    public let path: String?
    public let checkInterval: Duration
    private let time: any TimeSource
    private let logger: Logger

    private struct State {
        var token: String?
        var lastError: String?
        var reloads = 0
    }
    private let state: Mutex<State>

    /// - Parameters:
    ///   - authentication: `.tokenFile` is watched; a fixed token never changes; `.none` sends no header.
    ///   - checkInterval: client-go re-reads the projected token every minute.
    public init(authentication: Authentication, time: any TimeSource, logger: Logger, checkInterval: Duration = .seconds(60)) {
        self.time = time
        self.logger = logger
        self.checkInterval = checkInterval
        switch authentication {
        case .none:
            path = nil
            state = Mutex(State())
        case .token(let token):
            path = nil
            state = Mutex(State(token: token))
        case .tokenFile(let file):
            path = file
            state = Mutex(State())
            reloadNow()
        }
    }

    /// The token to send now; nil when there is none (or the file could not be read yet).
    public var token: String? { state.withLock { $0.token } }

    /// How many times a changed token was read (after the first).
    public var reloads: Int { state.withLock { $0.reloads } }

    /// Re-reads the file when it changed. Returns whether the token is now different.
    @discardableResult
    public func reloadNow() -> Bool {
        guard let path else { return false }
        let contents = FileManager.default.contents(atPath: path)
            .map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
        let (changed, report) = state.withLock { s -> (Bool, String?) in
            guard let contents, !contents.isEmpty else {
                let problem = contents == nil ? "cannot read the token file" : "the token file is empty"
                defer { s.lastError = problem }
                return (false, s.lastError == problem ? nil : problem)
            }
            s.lastError = nil
            guard contents != s.token else { return (false, nil) }
            let first = s.token == nil
            s.token = contents
            if !first { s.reloads += 1 }
            return (!first, nil)
        }
        if let report {
            logger.warning("kubernetes token not read; keeping the last one", metadata: ["kube.token_file": .string(path), "kube.problem": .string(report)])
        } else if changed {
            logger.info("kubernetes token re-read (rotated)", metadata: ["kube.token_file": .string(path)])
        }
        return changed
    }

    /// Checks the file every `checkInterval` until graceful shutdown.
    public func run() async throws {
        guard path != nil else { return }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await self.time.sleep(for: self.checkInterval) } catch { return }
                self.reloadNow()
            }
        }
    }
}
