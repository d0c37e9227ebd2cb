#if canImport(Glibc)
import Glibc
#endif

/// The C allocator's share of fedns's resident memory (docs/architecture.md, cluster state).
///
/// glibc's `mallopt` and `malloc_trim` live in `<malloc.h>`, which the Glibc module does not
/// export: they are looked up once by name (absent on other C libraries, where these do nothing).
public enum Memory {
    /// `M_ARENA_MAX` in `<malloc.h>`.
    private static let arenaMaxParameter: Int32 = -8

    private typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    private typealias MallocTrim = @convention(c) (Int) -> Int32

    private static func symbol<T>(_ name: String, as type: T.Type) -> T? {
        #if canImport(Glibc)
        guard let address = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }  // RTLD_DEFAULT
        return unsafeBitCast(address, to: type)
        #else
        return nil
        #endif
    }

    /// Caps glibc's malloc arenas. By default each thread that allocates may get an arena of its
    /// own (up to 8 per core), and memory freed in one (a state file decoded on a pool thread)
    /// stays resident there; fedns allocates little per query, so two arenas cost no contention.
    /// An operator's `MALLOC_ARENA_MAX` wins.
    public static func limitArenas(_ count: Int32 = 2) {
        #if canImport(Glibc)
        guard getenv("MALLOC_ARENA_MAX") == nil, let mallopt = symbol("mallopt", as: Mallopt.self) else { return }
        _ = mallopt(arenaMaxParameter, count)
        #endif
    }

    /// Hands the pages malloc holds free back to the kernel: called after a load, whose decoded
    /// document is garbage once its objects are indexed.
    public static func releaseFreePages() {
        guard let trim = symbol("malloc_trim", as: MallocTrim.self) else { return }
        _ = trim(0)
    }
}
