// The entry point both fuzz targets share: libFuzzer's driver when built with -DFUZZING (see
// scripts/fuzz.sh), else a replayer that runs each file named on the command line once.
#if canImport(Glibc)
import Glibc
#endif

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

/// The target's check; a C callback cannot capture it, so it is kept here for the one run.
nonisolated(unsafe) private var check: (([UInt8]) -> Void)?
#endif

public enum FuzzDriver {
    /// Runs `exercise` on every input: libFuzzer's (SwiftPM names the entry point itself, so this
    /// hands control to `LLVMFuzzerRunDriver` instead of linking libFuzzer's `main`), or each file.
    public static func run(_ exercise: @escaping ([UInt8]) -> Void) -> Never {
        #if FUZZING
        check = exercise
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            check?(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
            return 0
        })
        #else
        for path in CommandLine.arguments.dropFirst() {
            guard let file = fopen(path, "rb") else { continue }
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = fread(&buffer, 1, buffer.count, file)
                if n <= 0 { break }
                bytes += buffer[0..<n]
            }
            fclose(file)
            exercise(bytes)
        }
        exit(0)
        #endif
    }
}
