import DNSWire
import NameExpansion

/// Decides whether a datagram answers the query we sent (RFC 5452 §9.1): it must be a response
/// (QR=1) with our ID and exactly our question — name compared case-insensitively, type, class.
/// The source address and port are checked by the kernel: a try's UDP socket is connected to the
/// upstream, and a TCP connection has only one peer.
struct ReplyMatcher: Sendable {
    let id: UInt16
    let question: Question
    /// The question name in wire form, lower-cased.
    private let name: [UInt8]

    init(id: UInt16, question: Question) {
        self.id = id
        self.question = question
        var wire: [UInt8] = []
        question.name.lowercased.appendWire(to: &wire)
        name = wire
    }

    /// The reply, or nil when `bytes` is junk or answers some other query. Its bytes are walked,
    /// not decoded: junk costs no parse, and an answer passed on unchanged is never decoded at all.
    func accept(_ bytes: [UInt8]) -> UpstreamReply? {
        UpstreamReply(bytes, id: id, name: name, type: question.type, class: question.class)
    }
}
