package frl.backend.cuda;

import frl.tensor.Device;
import frl.tensor.Tensor;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * A typed launcher for one {@code extern "C"} kernel of src/main/cuda/{family}.cu. The signature spells the
 * kernel's parameters, one letter each: p = device pointer (a cuda Tensor or a raw address), i = int,
 * l = long long, f = float, d = double, a = {@code FrlInts} by value (an int[] of at most 32: shapes, strides),
 * t = {@code FrlTable} by value (a long[] of at most 384: addresses and sizes). Every launch checks the count and the kinds of its arguments, so a
 * Java call that drifts from the kernel fails here, by name, rather than on the GPU.
 */
final class Kernel {
    static final int BLOCK = 256;
    /** Ints in native/include/frl_cuda.cuh's FrlInts. */
    static final int MAX_INTS = 32;
    /** Long longs in frl_cuda.cuh's FrlTable. */
    static final int MAX_LONGS = 384;
    private final String family, name, signature;
    /** The call's name in a launch failure, built once: a launch is on the hot path of every op. */
    private final String launchCall;
    private final BytePointer values;
    private final long[] offsets;
    private final PointerPointer<?> params;
    private CUfunc_st function;

    Kernel(String family, String name, String signature) {
        this.family = family;
        this.name = name;
        this.signature = signature;
        launchCall = "cuLaunchKernel(" + name + ")";
        int n = signature.length();
        offsets = new long[n];
        long size = 0;
        for (int i = 0; i < n; i++) {
            offsets[i] = size;
            size += switch (signature.charAt(i)) {
                case 'a' -> 4L * MAX_INTS;
                case 't' -> 8L * MAX_LONGS;
                default -> 8;
            };
        }
        values = new BytePointer(Math.max(8, size));
        params = new PointerPointer<>(Math.max(1, n));
        for (int i = 0; i < n; i++) params.put(i, new DevicePointer(values.address() + offsets[i]));
    }

    /**
     * Where launches go instead of the GPU: the tests' HostKernels, the kernels' source compiled for the host, which
     * takes cuLaunchKernel's arguments (the grid, the block, the parameters' addresses) as they are packed here.
     */
    interface Launcher {
        int multiprocessors();

        /** params: cuLaunchKernel's array, argument i's value at the address in slot i; signature: the kinds (Kernel's letters). */
        void launch(String family, String name, String signature, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes, long params);
    }

    /** The launcher in place of the GPU; null (the GPU) but in tests. */
    static volatile Launcher onHost;

    /** The SMs that grids are sized for: the GPU's, or the host launcher's stand-in. */
    static int multiprocessors() {
        Launcher host = onHost;
        return host != null ? host.multiprocessors() : CudaContext.get().multiprocessors();
    }

    /** Enough blocks of {@link #BLOCK} threads for n elements, capped (the kernels loop grid-stride). */
    static int blocksFor(long n) {
        long want = (n + BLOCK - 1) / BLOCK;
        return (int) Math.max(1, Math.min(want, 32L * multiprocessors()));
    }

    /** A 1-D launch over n elements: grid-stride kernels. */
    void launchN(long n, Object... args) { launch(blocksFor(n), 1, 1, BLOCK, 1, 1, 0, args); }

    /**
     * A 2-D launch over planes (FRL_PLANES in frl_cuda.cuh): x over the perPlane elements of a plane, y over the planes
     * (at most 65535 blocks, grid-stride). The kernels index both in int: at most 2^30 elements per plane and
     * {@link #MAX_PLANES} planes, so an index plus its stride cannot wrap.
     */
    void launchPlanes(long perPlane, long planes, Object... args) {
        if (perPlane > 1L << 30 || planes > MAX_PLANES)
            throw new IllegalArgumentException(name + ": " + planes + " planes of " + perPlane + " elements; at most 2^31 - 2^24 planes of 2^30");
        int[] g = planeGrid(perPlane, planes, packedPlanes());
        launch(g[0], g[1], 1, g[2], g[3], 1, 0, args);
    }

    /** Planes a launch over planes takes: the kernels' plane stride, gridDim.y · blockDim.y, stays below 2^24. */
    static final long MAX_PLANES = Integer.MAX_VALUE - (1L << 24) + 1;

    /**
     * The launch over planes as {gx, gy, bx, by}. One plane per row of {@link #BLOCK} threads; packed, a plane shorter
     * than that takes a row of the next power of two at least its size and a block holds BLOCK / that planes, so a
     * phase of 4×4 pixels keeps 16 of 16 threads busy instead of 16 of 256 (and a launch has a sixteenth of the blocks).
     */
    static int[] planeGrid(long perPlane, long planes, boolean packed) {
        long pow2 = perPlane <= 1 ? 1 : Long.highestOneBit(perPlane - 1) << 1;
        int bx = packed ? (int) Math.min(BLOCK, pow2) : BLOCK, by = BLOCK / bx;
        return new int[] {(int) Math.max(1, Math.ceilDiv(perPlane, bx)), (int) Math.max(1, Math.min(Math.ceilDiv(planes, by), 65535)), bx, by};
    }

    /**
     * -Dfrl.cuda.planes=packed: launches over planes pack planes shorter than a block into one block (planeGrid);
     * one, the default (cifar training on the H200, 2026-11-28: 1.00× packed). Same values.
     */
    static boolean packedPlanes() { return CudaFlags.oneOf("frl.cuda.planes", "one", "one", "packed").equals("packed"); }

    synchronized void launch(int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes, Object... args) {
        if (args.length != signature.length())
            throw new IllegalArgumentException(name + ": the kernel takes " + signature.length() + " arguments (" + signature + "), got " + args.length);
        for (int i = 0; i < args.length; i++) {
            switch (signature.charAt(i)) {
                case 'a' -> putInts(i, args[i]);
                case 't' -> putLongs(i, args[i]);
                default -> values.putLong(offsets[i], bits(i, args[i]));
            }
        }
        Launcher host = onHost;
        if (host != null) {
            host.launch(family, name, signature, gx, gy, gz, bx, by, bz, sharedBytes, params.address());
            return;
        }
        CudaContext ctx = CudaContext.get();
        Cuda.checkDriver(cudart.cuLaunchKernel(function(ctx), gx, gy, gz, bx, by, bz, sharedBytes, ctx.stream(), params, null), launchCall);
        ctx.syncIfDebugging(name);
    }

    private long bits(int i, Object a) {
        char kind = signature.charAt(i);
        switch (kind) {
            case 'p' -> {
                if (a instanceof Tensor t) {
                    if (!t.device().equals(Device.CUDA)) throw badArg(i, a, "a cuda tensor");
                    return t.storage().address();
                }
                if (a instanceof Long l) return l;
            }
            case 'i' -> { if (a instanceof Integer v) return v & 0xFFFFFFFFL; }
            case 'l' -> { if (a instanceof Long v) return v; if (a instanceof Integer v) return v; }
            case 'f' -> { if (a instanceof Float v) return Float.floatToRawIntBits(v) & 0xFFFFFFFFL; }
            case 'd' -> { if (a instanceof Double v) return Double.doubleToRawLongBits(v); }
            default -> throw new IllegalStateException(name + ": unknown parameter kind '" + kind + "' in signature " + signature);
        }
        throw badArg(i, a, switch (kind) { case 'p' -> "a device pointer"; case 'i' -> "an int"; case 'l' -> "a long";
            case 'f' -> "a float"; case 'd' -> "a double"; default -> "?"; });
    }

    private void putInts(int i, Object a) {
        if (!(a instanceof int[] v) || v.length > MAX_INTS) throw badArg(i, a, "an int[] of at most " + MAX_INTS);
        for (int k = 0; k < MAX_INTS; k++) values.putInt(offsets[i] + 4L * k, k < v.length ? v[k] : 0);
    }

    private void putLongs(int i, Object a) {
        if (!(a instanceof long[] v) || v.length > MAX_LONGS) throw badArg(i, a, "a long[] of at most " + MAX_LONGS);
        for (int k = 0; k < MAX_LONGS; k++) values.putLong(offsets[i] + 8L * k, k < v.length ? v[k] : 0);
    }

    private IllegalArgumentException badArg(int i, Object a, String want) {
        return new IllegalArgumentException(name + ": argument " + i + " must be " + want + ", got " + (a == null ? "null" : a.getClass().getSimpleName() + " " + a));
    }

    private CUfunc_st function(CudaContext ctx) {
        if (function == null) {
            CUfunc_st f = new CUfunc_st();
            Cuda.checkDriver(cudart.cuModuleGetFunction(f, ctx.module(family), name), "cuModuleGetFunction(" + family + "." + name + ")");
            function = f;
        }
        return function;
    }
}
