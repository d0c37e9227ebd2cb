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
