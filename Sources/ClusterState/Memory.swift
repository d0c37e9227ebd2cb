#if canImport(Glibc)
import Glibc
#endif

/// The C allocator's share of fedns's resident memory (docs/architecture.md, cluster state).
///
/// glibc's `malloc_trim` lives in `<malloc.h>`, which the Glibc module does not export: it is
/// looked up by name (absent on other C libraries, where this does nothing), as is `mallopt`.
public enum Memory {
    private typealias MallocTrim = @convention(c) (Int) -> Int32
    private typealias Mallopt = @convention(c) (Int32, Int32) -> Int32

    private static func symbol<T>(_ name: String, as type: T.Type) -> T? {
        #if canImport(Glibc)
        guard let address = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }  // RTLD_DEFAULT
        return unsafeBitCast(address, to: type)
        #else
        return nil
        #endif
    }

    /// Hands the pages malloc holds free back to the kernel: called after a load, whose decoded
    /// document is garbage once its objects are indexed.
    public static func releaseFreePages() {
        guard let trim = symbol("malloc_trim", as: MallocTrim.self) else { return }
        _ = trim(0)
    }

    /// Unmaps from this process the pages of read-only file mappings (code and constants of the
    /// binary and its libraries), once, after the first sync: start-up reads megabytes of them that
    /// serving never touches again (the dynamic linker's symbol and relocation tables, argument and
    /// configuration parsing, Foundation's and ICU's set-up). They stay in the page cache; whatever
    /// is still used faults back in from there on its next touch. A mapping with a private copy of any
    /// page (a relocated constant) is left alone: dropping that copy would bring back the file's bytes.
    public static func releaseStartupPages() {
        #if canImport(Glibc)
        let fd = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        var text: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            text.append(contentsOf: chunk[0..<n])
        }
        close(fd)
        for range in startupPageRanges(smaps: text) {
            _ = madvise(UnsafeMutableRawPointer(bitPattern: range.lowerBound), Int(range.upperBound - range.lowerBound), MADV_DONTNEED)
        }
        #endif
    }

    /// The address ranges of `/proc/PID/smaps` text that ``releaseStartupPages()`` releases: mappings
    /// of a file, not writable, without a private copy of any page (`Anonymous: 0 kB`).
    static func startupPageRanges(smaps text: [UInt8]) -> [Range<UInt>] {
        var out: [Range<UInt>] = []
        var candidate: Range<UInt>?
        var hasPrivateCopies = false
        func settle() {
            if let candidate, !hasPrivateCopies { out.append(candidate) }
            candidate = nil; hasPrivateCopies = false
        }
        for line in text.split(separator: 0x0A) {
            let fields = line.split(separator: 0x20, omittingEmptySubsequences: true)
            guard let first = fields.first else { continue }
            if first.last == 0x3A {  // `Anonymous:   12 kB` and the like, for the mapping above
                if first.elementsEqual("Anonymous:".utf8), fields.count > 1, !fields[1].elementsEqual("0".utf8) { hasPrivateCopies = true }
                continue
            }
            // `start-end perms offset dev inode path`: a new mapping.
            settle()
            guard fields.count >= 6, fields[1].count == 4, fields[1][fields[1].startIndex + 1] != 0x77,  // not writable
                  fields[5].first == 0x2F,  // a file, not [heap], [stack], [vdso]…
                  let dash = first.firstIndex(of: 0x2D),
                  let start = UInt(String(decoding: first[..<dash], as: UTF8.self), radix: 16),
                  let end = UInt(String(decoding: first[(dash + 1)...], as: UTF8.self), radix: 16), start < end else { continue }
            candidate = start..<end
        }
        settle()
        return out
    }

    /// Settles malloc's policy before the first thread starts (`fedns serve`). Measured at 10,000
    /// Services and 50,000 endpoints from a state file: 121 MB resident with glibc's defaults, 63 MB
    /// with these. By default every thread that meets a locked arena gets one of its own (up to 8 per
    /// core), each keeping the garbage of the loads it ran; and after a large block is freed, glibc
    /// raises its mmap and trim thresholds (up to 32 and 64 MiB), so a decoded document's garbage
    /// stays in the heap. Fixed thresholds keep the trimming that returns free pages on every free.
    public static func tuneAllocator() {
        guard let mallopt = symbol("mallopt", as: Mallopt.self) else { return }
        let arenaMax: Int32 = -8, mmapThreshold: Int32 = -3, trimThreshold: Int32 = -1   // <malloc.h> M_*
        _ = mallopt(arenaMax, 2)
        _ = mallopt(mmapThreshold, 128 << 10)
        _ = mallopt(trimThreshold, 128 << 10)
    }
}
