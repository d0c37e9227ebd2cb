import CLDNS
import NameExpansion
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A TSIG key (RFC 8945): its name, algorithm (`hmac-sha256`) and base64 secret.
public struct TSIGKey: Sendable, Equatable {
    public var name: DomainName
    public var algorithm: String
    public var secret: String
    public init(name: DomainName, algorithm: String = "hmac-sha256", secret: String) {
        self.name = name; self.algorithm = algorithm; self.secret = secret
    }
}

/// What a signed reply said: the message, and whether its TSIG verified with the key.
public struct SignedReply: Sendable {
    public var message: Message
    /// The reply carried a TSIG record that verified against the request (or the previous reply).
    public var verified: Bool
    /// The TSIG record's error field (RFC 8945 §5.2: 16 BADSIG, 17 BADKEY, 18 BADTIME), when the reply had one.
    public var tsigError: UInt16?
}

/// One TSIG-signed exchange with a primary: a request (an RFC 2136 UPDATE or an AXFR) and the replies
/// to it, each verified against the MAC before it (RFC 8945 §5.3: a transfer's later messages chain on
/// the previous reply's MAC and sign the timers only).
public final class TSIGExchange: @unchecked Sendable {
    public let key: TSIGKey
    /// The signed request, ready to send.
    public private(set) var request: [UInt8] = []
    public let id: UInt16
    /// The MAC the next reply is verified against; owned here.
    private var priorMAC: UnsafeMutablePointer<ldns_rdf>?
    private var repliesSeen = 0

    static let fudge: UInt16 = 300

    /// An UPDATE of `zone` (class IN): the prerequisite section, then the update section (RFC 2136 §2),
    /// records as RFC 2136 §2.4 and §2.5 encode them (class NONE or ANY, TTL 0, empty rdata where they say).
    public static func update(zone: DomainName, id: UInt16, prerequisites: [ResourceRecord], updates: [ResourceRecord],
                              key: TSIGKey) throws(WireError) -> TSIGExchange {
        let prereq = ldns_rr_list_new()!, update = ldns_rr_list_new()!
        defer { ldns_rr_list_deep_free(prereq); ldns_rr_list_deep_free(update) }
        for record in prerequisites { ldns_rr_list_push_rr(prereq, record.makeLDNSRecord()) }
        for record in updates { ldns_rr_list_push_rr(update, record.makeLDNSRecord()) }
        let zoneRdf = zone.makeLDNSRdf()
        // ldns_update_pkt_new takes the zone rdf into the packet's question; the lists are cloned.
        guard let raw = ldns_update_pkt_new(zoneRdf, LDNS_RR_CLASS_IN, prereq, update, nil) else {
            ldns_rdf_deep_free(zoneRdf)
            throw WireError("could not build the UPDATE for \(zone)")
        }
        // ldns builds it as a query with RD set; in an UPDATE those bits are Z and must be zero (RFC 2136 §2.2).
        ldns_pkt_set_rd(raw, false)
        return try TSIGExchange(packet: LDNSPacket(adopting: raw), id: id, key: key)
    }

    /// A zone transfer request (AXFR) for `zone`.
    public static func zoneTransfer(zone: DomainName, id: UInt16, key: TSIGKey) throws(WireError) -> TSIGExchange {
        let packet = LDNSPacket()
        let question = ldns_rr_new()!
        ldns_rr_set_question(question, true)
        ldns_rr_set_owner(question, zone.makeLDNSRdf())
        ldns_rr_set_type(question, LDNS_RR_TYPE_AXFR)
        ldns_rr_set_class(question, LDNS_RR_CLASS_IN)
        ldns_pkt_push_rr(packet.pointer, LDNS_SECTION_QUESTION, question)
        return try TSIGExchange(packet: packet, id: id, key: key)
    }

    private init(packet: LDNSPacket, id: UInt16, key: TSIGKey) throws(WireError) {
        self.id = id
        self.key = key
        ldns_pkt_set_id(packet.pointer, id)
        try ldnsCheck(ldns_pkt_tsig_sign(packet.pointer, key.name.description, key.secret, Self.fudge, key.algorithm + ".", nil),
                      "TSIG signing with key \(key.name.description)")
        guard let tsig = ldns_pkt_tsig(packet.pointer), let mac = ldns_rr_rdf(tsig, 3) else { throw WireError("TSIG signing left no MAC") }
        priorMAC = ldns_rdf_clone(mac)
        var wire: UnsafeMutablePointer<UInt8>?
        var size = 0
        try ldnsCheck(ldns_pkt2wire(&wire, packet.pointer, &size), "rendering the signed request")
        defer { free(wire) }
        request = Array(UnsafeBufferPointer(start: wire, count: size))
    }

    deinit { if let priorMAC { ldns_rdf_deep_free(priorMAC) } }

    /// Parses and verifies the next reply. A reply that does not parse throws; one that parses but does
    /// not verify comes back with `verified == false` (the caller refuses to act on it).
    public func verify(reply bytes: [UInt8]) throws(WireError) -> SignedReply {
        guard bytes.count >= 12 else { throw WireError("reply shorter than its 12-byte header") }
        var raw: UnsafeMutablePointer<ldns_pkt>?
        let status = bytes.withUnsafeBufferPointer { ldns_wire2pkt(&raw, $0.baseAddress, $0.count) }
        try ldnsCheck(status, "malformed reply")
        guard let raw else { throw WireError("malformed reply") }
        let packet = LDNSPacket(adopting: raw)
        var tsigError: UInt16?
        var verified = false
        if let tsig = ldns_pkt_tsig(packet.pointer) {
            if ldns_rr_rd_count(tsig) > 5, let error = ldns_rr_rdf(tsig, 5) { tsigError = ldns_rdf2native_int16(error) }
            let timersOnly: Int32 = repliesSeen == 0 ? 0 : 1
            verified = bytes.withUnsafeBufferPointer { wire in
                ldns_pkt_tsig_verify_next(packet.pointer, wire.baseAddress, wire.count, key.name.description, key.secret, priorMAC, timersOnly)
            }
            if verified, let mac = ldns_rr_rdf(tsig, 3) {
                if let priorMAC { ldns_rdf_deep_free(priorMAC) }
                priorMAC = ldns_rdf_clone(mac)
            }
        }
        repliesSeen += 1
        return SignedReply(message: try WireCodec.message(from: packet), verified: verified, tsigError: tsigError)
    }
}
