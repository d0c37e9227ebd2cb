import DNSWire
import NameExpansion

/// Completes an answer that fedns starts with a CNAME of its own (ExternalName services, the
/// federation rule's zonal name): the target is resolved with the same type and its chain appended.
enum CNAMEChase {
    /// How a chase ended, for metrics.
    enum Outcome: Sendable, Equatable { case completed, failed }

    /// `cname` followed by the resolution of `target`, as a response to `request`.
    ///
    /// ```text
    /// answer     <qname> CNAME <target>, then the target's answer (its own CNAMEs first)
    /// authority  the target's authority (the SOA of a negative answer)
    /// rcode      the end of the chain's: NOERROR, or NXDOMAIN with the CNAME kept
    /// ```
    /// A failed chase (SERVFAIL, REFUSED…) becomes SERVFAIL without records, carrying the upstream's
    /// Extended DNS Error or EDE 22 (No Reachable Authority) when it gave none. EDE options of a good
    /// answer (a stale answer's EDE 3) pass through.
    static func complete(_ request: Request, cname: ResourceRecord, target: DomainName,
                         resolve: (Request) async -> Response) async -> (Response, Outcome) {
        let chased = await resolve(request.rewritten(name: target))
        // Read once: a forwarded answer still in wire form is decoded on every read of `message`.
        let chasedMessage = chased.message
        let upstreamErrors = chasedMessage.edns?.options.filter { $0.code == EDNSOption.edeCode } ?? []
        guard chased.rcode == .noError || chased.rcode == .nxDomain else {
            var failed = Message.response(to: request.message, rcode: .servFail)
            if upstreamErrors.isEmpty {
                failed.addExtendedError(.noReachableAuthority, text: "no answer for \(target)")
            } else if failed.edns != nil {
                failed.edns!.options += upstreamErrors
            }
            return (Response(message: failed), .failed)
        }
        var m = Message.response(to: request.message, rcode: chased.rcode)
        m.header.authoritative = true
        m.answer = [cname] + chasedMessage.answer
        m.authority = chasedMessage.authority
        m.additional = chasedMessage.additional
        if m.edns != nil { m.edns!.options += upstreamErrors }
        return (Response(message: m), .completed)
    }
}
