import Testing
@testable import Server

@Suite struct SocketDropsTests {
    static let table = """
          sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
         12: 0100007F:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 41250 2 0000000000000000 17
         13: 0100007F:14E9 00000000:0000 07 00000000:00003F00 00:00000000 00000000     0        0 41251 2 0000000000000000 5
         14: 0100007F:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 99999 2 0000000000000000 1000
         15: 00000000:A2C1 0100007F:0035 01 00000000:00000000 00:00000000 00000000     0        0 41252 2 0000000000000000 3
        """

    @Test(arguments: [
        // Both listener sockets on port 0x14E9 (5353) that are ours.
        (Set<UInt64>([41250, 41251, 41252]), Set([5353]), 22),
        // Another process's socket on the same port (SO_REUSEPORT) is not ours to count.
        (Set<UInt64>([41250]), Set([5353]), 17),
        // An upstream socket of ours on an ephemeral port is not a listener.
        (Set<UInt64>([41252]), Set([5353]), 0),
        (Set<UInt64>([41250, 41251]), Set([53]), 0),
    ])
    func dropsOfOwnListenerSocketsAreSummed(inodes: Set<UInt64>, ports: Set<Int>, drops: Int) {
        #expect(KernelSocketDrops.drops(inTable: Self.table, inodes: inodes, ports: ports) == drops)
    }

    @Test func receiveBufferIsReadWithADefault() throws {
        #expect(FednsConfig().receiveBufferBytes == 4 << 20)
        #expect(try ConfigLoader.apply(yaml: "receiveBuffer: 8388608", to: FednsConfig()).receiveBufferBytes == 8 << 20)
    }
}
