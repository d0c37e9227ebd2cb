#if canImport(Glibc)
import Glibc
#endif

/// The C allocator's share of fedns's resident memory (docs/architecture.md, cluster state).
///
/// glibc's `malloc_trim` lives in `<malloc.h>`, which the Glibc module does not export: it is
/// looked up by name (absent on other C libraries, where this does nothing). Capping malloc's
/// arenas (`M_ARENA_MAX`) was measured and saved nothing at 10,000 Services: fedns runs few threads.
public enum Memory {
    private typealias MallocTrim = @convention(c) (Int) -> Int32

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
}
