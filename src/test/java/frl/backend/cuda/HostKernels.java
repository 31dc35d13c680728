package frl.backend.cuda;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Kernel families of src/main/cuda compiled for the host by g++ (src/test/native: frl_host_shim.h, frl_host_launch.cpp)
 * and put in the GPU's place ({@link Kernel#onHost}), so that the CUDA backend's own launchers (their grids, blocks and
 * packed arguments) run the kernels' own source over host memory: the blocks one after another, a block's threads
 * one after another or, in a family whose threads wait for each other (barriers, shuffles, shared memory), as fibers
 * switched at each barrier. Device pointers are host addresses ({@link #floats}).
 */
final class HostKernels implements Kernel.Launcher, AutoCloseable {
    /** A GPU's worth of SMs for the launchers' grid caps: an H200's 132. */
    static final int MULTIPROCESSORS = 132;
    private static final Path OUT = Path.of("target", "host-kernels");
    /** {@code extern __shared__ T name[];}, which becomes a pointer to the launch's dynamic shared memory. */
    private static final Pattern DYNAMIC_SHARED = Pattern.compile("extern __shared__ (\\w+) (\\w+)\\[\\];");
    /** A kernel once the shim's macros have run: {@code extern "C" void name(}. */
    private static final Pattern KERNEL = Pattern.compile("extern \"C\"\\s+void\\s+(\\w+)\\s*\\(");
    /** What makes a family's threads wait for each other (frl_cuda.cuh's block sum among it): then they run as fibers. */
    private static final Pattern FIBERS = Pattern.compile("__syncthreads|__shfl|__all_sync|__shared__|frl_block_sum");
    private final Arena arena = Arena.ofShared();
    private final Map<String, MethodHandle> launchers = new HashMap<>();
    private final Kernel.Launcher before;

    /** The families compiled (once per source change) and launched here until close; skips the test without g++. */
    static HostKernels of(String... families) {
        Map<String, String> sources = new LinkedHashMap<>();
        for (String f : families) sources.put(f, null);
        return of(sources);
    }

    /** The families, each from its .cu or, where the map gives one, from that text instead (a test's edited copy). */
    static HostKernels of(Map<String, String> sources) {
        assumeTrue(onPath("g++"), "no g++ here to compile the kernels for the host");
        return new HostKernels(sources);
    }

    private HostKernels(Map<String, String> sources) {
        try {
            Files.createDirectories(OUT);
            for (var s : sources.entrySet()) {
                String f = s.getKey();
                Path lib = s.getValue() == null ? compile(f) : compile(f, s.getValue(), f + "-edited");
                MemorySegment fn = SymbolLookup.libraryLookup(lib, arena).find("frl_host_launch").orElseThrow();
                launchers.put(f, Linker.nativeLinker().downcallHandle(fn, FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT)));
            }
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException("compiling the kernels for the host: " + e, e);
        }
        before = Kernel.onHost;
        Kernel.onHost = this;
    }

    private static final Path SHIM = Path.of("src/test/native/frl_host_shim.h"), LAUNCH = Path.of("src/test/native/frl_host_launch.cpp"),
            HEADER = Path.of("native/include/frl_cuda.cuh");

    /** target/host-kernels/{family}.so from the family's .cu, rebuilt when the .cu, the shim or the launcher is newer. */
    private static Path compile(String family) throws IOException, InterruptedException {
        Path src = Path.of("src/main/cuda", family + ".cu"), lib = OUT.resolve(family + ".so");
        if (Files.exists(lib) && List.of(src, SHIM, LAUNCH, HEADER).stream().allMatch(p -> older(p, lib))) return lib;
        return compile(family, Files.readString(src), family);
    }

    /** target/host-kernels/{name}.so from a family's source text. */
    private static Path compile(String family, String text, String name) throws IOException, InterruptedException {
        Path source = OUT.resolve(name + ".cu"), log = OUT.resolve(name + ".log"), lib = OUT.resolve(name + ".so"), shim = SHIM, launch = LAUNCH, header = HEADER;
        // the launch's dynamic shared memory, for the one declaration C++ has no spelling of
        Files.writeString(source, DYNAMIC_SHARED.matcher(text).replaceAll("$1* $2 = reinterpret_cast<$1*>(frl_dynamic_shared);"));
        List<String> flags = new ArrayList<>(List.of("g++", "-std=c++17", "-O1", "-ffp-contract=off", "-Wno-unknown-pragmas",
                "-include", shim.toAbsolutePath().toString(), "-I", header.getParent().toAbsolutePath().toString()));
        if (FIBERS.matcher(text).find()) flags.add("-DFRL_HOST_FIBERS");
        // the kernels' names as the preprocessor leaves them (a macro may stamp out several)
        List<String> expand = new ArrayList<>(flags);
        expand.addAll(List.of("-E", "-P", "-x", "c++", source.toAbsolutePath().toString()));
        Process e = new ProcessBuilder(expand).redirectError(log.toFile()).start();
        String expanded = new String(e.getInputStream().readAllBytes());
        if (e.waitFor() != 0) throw new IllegalStateException("g++ could not preprocess " + family + " for the host:\n" + Files.readString(log));
        List<String> names = new ArrayList<>();
        for (Matcher m = KERNEL.matcher(expanded); m.find(); ) names.add("X(" + m.group(1) + ")");
        List<String> cmd = new ArrayList<>(flags);
        cmd.addAll(List.of("-fPIC", "-shared", "-DFRL_FAMILY_SOURCE=\"" + source.toAbsolutePath() + "\"", "-DFRL_KERNELS=" + String.join(" ", names),
                "-x", "c++", launch.toAbsolutePath().toString(), "-o", lib.toAbsolutePath().toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (p.waitFor() != 0) throw new IllegalStateException("g++ could not compile " + family + " for the host:\n" + Files.readString(log));
        return lib;
    }

    private static boolean older(Path p, Path than) {
        try { return Files.getLastModifiedTime(p).compareTo(Files.getLastModifiedTime(than)) < 0; } catch (IOException e) { return false; }
    }

    private static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) if (Path.of(dir, tool).toFile().canExecute()) return true;
        return false;
    }

    @Override public int multiprocessors() { return MULTIPROCESSORS; }

    @Override public void launch(String family, String name, String signature, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes, long params) {
        MethodHandle h = launchers.get(family);
        if (h == null) throw new IllegalStateException(name + ": its family " + family + " was not compiled for the host");
        checkLimits(family + "." + name, gx, gy, gz, bx, by, bz, sharedBytes);
        try (Arena call = Arena.ofConfined()) {
            MemorySegment grid = call.allocateFrom(ValueLayout.JAVA_INT, gx, gy, gz), block = call.allocateFrom(ValueLayout.JAVA_INT, bx, by, bz);
            MemorySegment error = call.allocate(512);
            int rc = (int) h.invokeExact(call.allocateFrom(name), grid, block, sharedBytes, MemorySegment.ofAddress(params), error, 512);
            if (rc != 0) throw new IllegalStateException("host launch of " + family + "." + name + ": " + error.getString(0));
            checkGuards(family + "." + name, pointers(signature, params));
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * What cuLaunchKernel refuses on every GPU built for (sm_80, sm_90), which the host would run anyway: an empty or
     * oversized grid (y and z at most 65535), more than 1024 threads a block (z at most 64), and more dynamic shared
     * memory than the 48 KB a kernel gets without opting in (no kernel here opts in; its static shared memory, which
     * counts against the same 48 KB, is not known here).
     */
    static void checkLimits(String kernel, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes) {
        String why = gx < 1 || gy < 1 || gz < 1 || bx < 1 || by < 1 || bz < 1 ? "an empty grid or block"
                : gy > 65535 || gz > 65535 ? "a grid over 65535 blocks in y or z"
                : (long) bx * by * bz > 1024 || bz > 64 ? "a block over 1024 threads, or 64 in z"
                : sharedBytes < 0 ? "negative shared memory" : sharedBytes > 48 * 1024 ? "dynamic shared memory over 48 KB" : null;
        if (why != null)
            throw new IllegalStateException(kernel + ": a GPU refuses the launch of grid (" + gx + ", " + gy + ", " + gz + ") block (" + bx
                    + ", " + by + ", " + bz + ") with " + sharedBytes + " bytes of shared memory: " + why);
    }

    /** Floats of a guard on each side of every block {@link #floats} hands out, and the bits they hold. */
    private static final int GUARD = 256, GUARD_BITS = 0x7FC0DEAD;
    private final List<MemorySegment> guarded = new ArrayList<>();

    /**
     * Host memory for n floats, zeroed, alive until close, 256-byte aligned like a cudaMalloc block: its address is a
     * device pointer here. Guards lie on both sides, and a launch that writes into the guards of a block it was given
     * fails (a write past the block, which nothing else here would see).
     */
    MemorySegment floats(long n) {
        MemorySegment all = arena.allocate(4 * (Math.max(1, n) + 2L * GUARD), 256);   // zeroed; cudaMalloc's alignment
        long floats = all.byteSize() / 4;
        for (long i = 0; i < floats; i = i == GUARD - 1 ? floats - GUARD : i + 1) all.setAtIndex(ValueLayout.JAVA_INT, i, GUARD_BITS);
        guarded.add(all);
        return all.asSlice(4L * GUARD, 4L * Math.max(1, n));
    }

    /** The same, holding v. */
    MemorySegment floats(float[] v) {
        MemorySegment block = floats(v.length);
        MemorySegment.copy(v, 0, block, ValueLayout.JAVA_FLOAT, 0, v.length);
        return block;
    }

    /** The device pointers a launch was given: the values of its 'p' arguments. */
    private static long[] pointers(String signature, long params) {
        MemorySegment slots = MemorySegment.ofAddress(params).reinterpret(8L * signature.length());
        return java.util.stream.IntStream.range(0, signature.length()).filter(i -> signature.charAt(i) == 'p')
                .mapToLong(i -> MemorySegment.ofAddress(slots.getAtIndex(ValueLayout.JAVA_LONG, i)).reinterpret(8).get(ValueLayout.JAVA_LONG, 0)).toArray();
    }

    /** The guards of the blocks the launch's pointers lie in (a write past a block lands in its own guards first). */
    private void checkGuards(String kernel, long[] pointers) {
        for (MemorySegment all : guarded) {
            long from = all.address() + 4L * GUARD, to = all.address() + all.byteSize() - 4L * GUARD;
            if (java.util.Arrays.stream(pointers).noneMatch(p -> p >= from && p < to)) continue;
            long floats = all.byteSize() / 4;
            for (long i = 0; i < floats; i = i == GUARD - 1 ? floats - GUARD : i + 1)
                if (all.getAtIndex(ValueLayout.JAVA_INT, i) != GUARD_BITS)
                    throw new IllegalStateException(kernel + " wrote outside a block of " + (floats - 2 * GUARD) + " floats at 0x"
                            + Long.toHexString(all.address() + 4L * GUARD) + ": " + (i < GUARD ? GUARD - i + " before its start" : i - (floats - GUARD) + 1 + " past its end"));
        }
    }

    @Override public void close() {
        Kernel.onHost = before;
        arena.close();
    }
}
