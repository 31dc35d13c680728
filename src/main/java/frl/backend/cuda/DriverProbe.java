package frl.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Asks the CUDA driver, through FFM only, whether a GPU is usable. JavaCPP's CUDA classes are never
 * touched unless this succeeds: loading them without libcuda.so.1 poisons the JVM (NoClassDefFoundError
 * forever after).
 */
public final class DriverProbe {
    /** What the driver said: GPU count and driver version (e.g. 13000), or why there is none. */
    public record Result(int devices, int driverVersion, String problem) {
        public boolean usable() { return devices > 0; }

        @Override public String toString() {
            if (!usable()) return "no GPU (" + problem + ")";
            return devices + " device(s), driver API " + driverVersion / 1000 + "." + driverVersion % 1000 / 10;
        }
    }

    private DriverProbe() {}

    public static Result probe() {
        Arena arena = Arena.global();
        SymbolLookup cuda;
        try {
            cuda = SymbolLookup.libraryLookup("libcuda.so.1", arena);
        } catch (IllegalArgumentException e) {
            return new Result(0, 0, "libcuda.so.1 not found");
        }
        try {
            Linker linker = Linker.nativeLinker();
            FunctionDescriptor intOfInt = FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT);
            FunctionDescriptor intOfPtr = FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS);
            MethodHandle init = linker.downcallHandle(cuda.find("cuInit").orElseThrow(), intOfInt);
            MethodHandle count = linker.downcallHandle(cuda.find("cuDeviceGetCount").orElseThrow(), intOfPtr);
            MethodHandle version = linker.downcallHandle(cuda.find("cuDriverGetVersion").orElseThrow(), intOfPtr);
            int rc = (int) init.invokeExact(0);
            if (rc != 0) return new Result(0, 0, "cuInit returned CUDA error " + rc);
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            rc = (int) count.invokeExact(out);
            int n = rc == 0 ? out.get(ValueLayout.JAVA_INT, 0) : 0;
            rc = (int) version.invokeExact(out);
            int v = rc == 0 ? out.get(ValueLayout.JAVA_INT, 0) : 0;
            return new Result(n, v, n == 0 ? "the driver reports no device" : "");
        } catch (Throwable t) {
            return new Result(0, 0, "driver call failed: " + t);
        }
    }
}
