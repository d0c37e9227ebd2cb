import Clocks
import DNSWire
import NIOCore

/// One question to one server, asked as a stub resolver asks it: UDP with a fresh random ID, then TCP
/// on the same server when the reply is truncated (RFC 7766); a reply counts only when it matches
/// (RFC 5452). Each forwarder try is one of these, and so is each query of `fedns resolve --server`.
public struct StubExchange: Sendable {
    let transport: any UpstreamTransport
    let time: any TimeSource

    public init(transport: any UpstreamTransport, time: any TimeSource) {
        self.transport = transport
        self.time = time
    }

    /// Over real sockets on `group`.
    public init(group: any EventLoopGroup, time: any TimeSource = SystemTimeSource()) {
        self.init(transport: UpstreamExchange(group: group, time: time), time: time)
    }

    /// - Returns: how it ended, and whether the answer (or failure) came over TCP.
    public func ask(_ question: Question, dnssecOK: Bool = false, checkingDisabled: Bool = false, server: Upstream,
                    timeoutNanoseconds timeout: UInt64) async -> (outcome: TryOutcome, overTCP: Bool) {
        let started = time.nowNanoseconds()
        let (bytes, matcher) = ForwardHandler.query(question, dnssecOK: dnssecOK, checkingDisabled: checkingDisabled)
        let outcome = await transport.exchange(bytes, with: server, tcp: false, timeoutNanoseconds: timeout, accept: { matcher.accept($0) })
        guard case .reply(let reply) = outcome, reply.truncated else { return (outcome, false) }
        let left = timeout - min(timeout, time.nowNanoseconds() - started)
        guard left > 0 else { return (.timeout, true) }
        let (tcpBytes, tcpMatcher) = ForwardHandler.query(question, dnssecOK: dnssecOK, checkingDisabled: checkingDisabled)
        return (await transport.exchange(tcpBytes, with: server, tcp: true, timeoutNanoseconds: left, accept: { tcpMatcher.accept($0) }), true)
    }
}
