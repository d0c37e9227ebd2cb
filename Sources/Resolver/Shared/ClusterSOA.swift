import ClusterState
import DNSWire
import NameExpansion

/// The cluster zone's SOA, in the authority of every negative cluster answer (cluster zone, federation):
///
/// ```text
/// <cd>. <ttl> IN SOA ns.dns.<cd>. hostmaster.<cd>. <serial> 7200 1800 86400 <ttl>
/// ```
/// The serial is the snapshot generation (low 32 bits): it changes whenever the data may have.
struct ClusterSOA: Sendable {
    let clusterDomain: DomainName
    let ttl: UInt32

    var nameServer: DomainName { clusterDomain.prepending(["ns", "dns"]) }
    var hostmaster: DomainName { clusterDomain.prepending(["hostmaster"]) }

    func record(owner: DomainName, serial snap: ClusterSnapshot) -> ResourceRecord {
        let rdata = RData.soa(mname: nameServer, rname: hostmaster, serial: UInt32(truncatingIfNeeded: snap.generation),
                              refresh: 7200, retry: 1800, expire: 86400, minimum: ttl)
        return ResourceRecord(name: owner, type: .soa, ttl: ttl, rdata: rdata)
    }
}
