package frl.backend.cuda;

import frl.backend.Shapes;
import frl.tensor.Shape;
import frl.tensor.Tensor;


/**
 * Softmax cross-entropy with class targets, fused (src/main/cuda/loss.cu; CPU twin {@code CpuLoss}). The
 * logits are viewed as [outer, C, inner]. For inner &gt; 1 a block of 32 × 8 threads takes 32 consecutive
 * positions (coalesced along inner) and loops over the classes, keeping its C × 32 logits in shared memory when
 * they fit (or, under -Dfrl.cuda.ce=registers, up to 256 classes in registers), so the forward reads the logits once
 * and the backward reads them once and writes dlogits once. For inner = 1 (classes contiguous) one block takes one row.
 * <p>
 * Targets are checked on the device: a bad one gets a NaN loss, and its position is recorded in an 8-byte
 * flag that the context reads at its next synchronisation (no stall here); it then throws an
 * IllegalArgumentException naming the op, the first bad flat position and the class count.
 */
final class CudaLoss {
    /** Threads of a tile block: 32 positions × 8 class rows; of a row block: 256. */
    private static final int LANES = 32, ROWS = 8, ROW_THREADS = 256;
    /** Classes up to which a tile block keeps its logits in (default, 48 KiB) dynamic shared memory. */
    static final int MAX_CACHED_CLASSES = 320;
    /** Grid cap: the kernels loop over tiles / rows. */
    private static final int MAX_BLOCKS = 1 << 20;

    private static final Kernel TILE_FORWARD = new Kernel("loss", "ce_tile_forward", "pppplili");
    private static final Kernel TILE_BACKWARD = new Kernel("loss", "ce_tile_backward", "ppppplili");
    private static final Kernel ROWS_FORWARD = new Kernel("loss", "ce_rows_forward", "ppppli");
    private static final Kernel ROWS_BACKWARD = new Kernel("loss", "ce_rows_backward", "pppppli");
    private static final Kernel REGS_FORWARD = new Kernel("loss", "ce_regs_forward", "pppplil");
    private static final Kernel REGS_BACKWARD = new Kernel("loss", "ce_regs_backward", "ppppplil");
    private static final Kernel TILE_BACKWARD_PARTS = new Kernel("loss", "ce_tile_backward_parts", "ppppplilii");
    private static final Kernel REGS_BACKWARD_PARTS = new Kernel("loss", "ce_regs_backward_parts", "ppppplili");
    /** Classes up to which a tile's logits fit in its threads' registers: CE_ROWS · CE_REGS in loss.cu. */
    static final int MAX_REGISTER_CLASSES = ROWS * 32;

    private CudaLoss() {}

    /** loss = logsumexp(logits) − logits[target], per position of the [outer, inner] view. */
    static Tensor crossEntropy(Tensor logits, Tensor targets, int axis) {
        Tensor loss = CudaBackend.alloc(Shapes.crossEntropy(logits, targets, axis));
        run(logits, targets, null, loss, 0, Shapes.aroundAxis(logits.shape(), axis));
        return loss;
    }

    /** dlogits = (softmax − onehot(target)) · dloss. */
    static Tensor crossEntropyBackward(Tensor logits, Tensor targets, Tensor dloss, int axis) {
        Shapes.crossEntropy(logits, targets, axis);
        Shapes.requireSameShape("crossEntropyBackward (targets vs dloss)", targets, dloss);
        Tensor dx = CudaBackend.alloc(logits.shape());
        run(logits, targets, dloss, dx, 0, Shapes.aroundAxis(logits.shape(), axis));
        return dx;
    }

    /**
     * crossEntropyBackward's dlogits as its 3xTF32 parts (tf32.cu's split, the same bits), dlogits never written: for
     * logits [R, partsC, classes, inner] with classes on axis 2, block r = [partsC·classes, inner] of them has its big
     * part at {@code parts} + 2r·B floats and its small part at + (2r + 1)·B, B = partsC·classes·inner (the layout of
     * SubPixelPlans.gradsFromPhaseParts).
     */
    static void crossEntropyBackwardParts(Tensor logits, Tensor targets, Tensor dloss, long parts) {
        Shapes.crossEntropy(logits, targets, 2);
        Shapes.requireSameShape("crossEntropyBackward (targets vs dloss)", targets, dloss);
        if (logits.shape().rank() != 4) throw new IllegalArgumentException("crossEntropyBackward in parts: logits [R, C, classes, inner], got " + logits.shape());
        run(logits, targets, dloss, parts, logits.dim(1), Shapes.aroundAxis(logits.shape(), 2));
    }

    /** Forward when dloss is null, else backward (into out, a tensor or an address; its TF32 parts where partsC &gt; 0); then the target check. */
    private static void run(Tensor x, Tensor targets, Tensor dloss, Object out, int partsC, int[] view) {
        long positions = (long) view[0] * view[2];
        if (positions == 0) return;
        long flag = CudaContext.get().checkFlag(first -> {
            throw new IllegalArgumentException((dloss == null ? "crossEntropy" : "crossEntropyBackward") + ": the target at flat position "
                    + first + " is not a class index in [0, " + view[1] + ")");
        }).address();
        launch(x, targets, dloss, out, flag, partsC, view);
    }

    /**
     * The launch of {@link #run} over its arguments (tensors or device addresses; dloss null for the forward), the first
     * bad target's position going to the 8 bytes at flag.
     */
    static void launch(Object x, Object targets, Object dloss, Object out, long flag, int partsC, int[] view) {
        long outer = view[0], inner = view[2], positions = outer * inner;
        int classes = view[1];
        if (partsC > 0) { // the tile kernels, which take any inner
            int grid = (int) Math.min((positions + LANES - 1) / LANES, MAX_BLOCKS);
            if (inRegisters(classes)) REGS_BACKWARD_PARTS.launch(grid, 1, 1, LANES, ROWS, 1, 0, x, targets, dloss, out, flag, positions, classes, inner, partsC);
            else {
                boolean cached = classes <= MAX_CACHED_CLASSES;
                TILE_BACKWARD_PARTS.launch(grid, 1, 1, LANES, ROWS, 1, cached ? classes * LANES * Float.BYTES : 0, x, targets, dloss, out, flag, positions,
                        classes, inner, cached ? 1 : 0, partsC);
            }
            return;
        }
        if (inner == 1) {
            int grid = (int) Math.min(positions, MAX_BLOCKS);
            if (dloss == null) ROWS_FORWARD.launch(grid, 1, 1, ROW_THREADS, 1, 1, 0, x, targets, out, flag, positions, classes);
            else ROWS_BACKWARD.launch(grid, 1, 1, ROW_THREADS, 1, 1, 0, x, targets, dloss, out, flag, positions, classes);
        } else {
            int grid = (int) Math.min((positions + LANES - 1) / LANES, MAX_BLOCKS);
            if (inRegisters(classes)) {
                if (dloss == null) REGS_FORWARD.launch(grid, 1, 1, LANES, ROWS, 1, 0, x, targets, out, flag, positions, classes, inner);
                else REGS_BACKWARD.launch(grid, 1, 1, LANES, ROWS, 1, 0, x, targets, dloss, out, flag, positions, classes, inner);
                return;
            }
            boolean cached = classes <= MAX_CACHED_CLASSES;
            int shared = cached ? classes * LANES * Float.BYTES : 0;
            if (dloss == null)
                TILE_FORWARD.launch(grid, 1, 1, LANES, ROWS, 1, shared, x, targets, out, flag, positions, classes, inner, cached ? 1 : 0);
            else
                TILE_BACKWARD.launch(grid, 1, 1, LANES, ROWS, 1, shared, x, targets, dloss, out, flag, positions, classes, inner, cached ? 1 : 0);
        }
    }

    /**
     * -Dfrl.cuda.ce=registers: a tile of up to {@link #MAX_REGISTER_CLASSES} classes keeps its logits in registers
     * (ce_regs_*, the same bits as the cached tile): the default since the H200 run of 2026-11-28 (cifar training 1.04×
     * alone); shared, the tile in shared memory.
     */
    static boolean registers() { return CudaFlags.oneOf("frl.cuda.ce", "registers", "shared", "registers").equals("registers"); }

    private static boolean inRegisters(int classes) { return classes <= MAX_REGISTER_CLASSES && registers(); }

    /** For tests: which kernels a logits shape with classes on axis runs through. */
    static String path(Shape logits, int axis) {
        int[] v = Shapes.aroundAxis(logits, axis);
        return v[2] == 1 ? "rows" : inRegisters(v[1]) ? "tile (registers)" : v[1] <= MAX_CACHED_CLASSES ? "tile (cached)" : "tile (global)";
    }
}
