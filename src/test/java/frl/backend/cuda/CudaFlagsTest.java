package frl.backend.cuda;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CudaFlagsTest {
    private static final String P = "frl.cuda.test.flag";

    @Test void takesTheFallbackWhenUnsetAndAnAllowedWordTrimmed() {
        System.clearProperty(P);
        assertEquals("block", CudaFlags.oneOf(P, "block", "block", "warp"));
        System.setProperty(P, " warp ");
        try {
            assertEquals("warp", CudaFlags.oneOf(P, "block", "block", "warp"));
        } finally {
            System.clearProperty(P);
        }
    }

    @Test void refusesAnyOtherWordNamingTheSwitchAndItsWords() {
        System.setProperty(P, "3xTF32");
        try {
            var e = assertThrows(IllegalArgumentException.class, () -> CudaFlags.oneOf(P, "sgemm", "sgemm", "3xtf32"));
            assertTrue(e.getMessage().contains("-D" + P + " must be one of sgemm, 3xtf32; got '3xTF32'"), e.getMessage());
        } finally {
            System.clearProperty(P);
        }
    }

    /** A -D switch, what the code reads from it, and what that must be while the switch is unset. */
    private record Switch(String property, java.util.function.Supplier<Object> read, Object unset, String why) {}

    @Test void theSwitchesDefaultToTheirCheckedPaths() {
        List<Switch> switches = List.of(
                new Switch("frl.cuda.gemm", SubPixelPlans.Gemm::forced, null, "auto: each op and size takes the faster"),
                new Switch("frl.cuda.hf", CudaFrequency.Direct::chosen, CudaFrequency.Direct.TILE, "the tile kernel, 74% of a copy on the H200"),
                new Switch("frl.cuda.phaseLoads", CudaSubPixel::batched, true, "the batched phase kernels, faster on the H200"),
                new Switch("frl.cuda.planes", Kernel::packedPlanes, false, "packed plane launches wait for a GPU run"),
                new Switch("frl.cuda.phaseGemms", SubPixelPlans::phaseGemms, SubPixelPlans.Option.AUTO, "phase GEMMs batched where faster"),
                new Switch("frl.cuda.ce", CudaLoss::registers, true, "cross-entropy tiles in registers, faster on the H200"),
                new Switch("frl.cuda.bnLoads", CudaNorm::batchedLoads, false, "batch norm's batched loads wait for a GPU run"),
                new Switch("frl.cuda.hfSums", CudaFrequency::exactSums, false, "the HF channel's exact sums wait for a GPU run"),
                new Switch("frl.cuda.splitK", SubPixelPlans::splitK, SubPixelPlans.Option.AUTO, "weight gradients in chunks where faster"),
                new Switch("frl.cuda.bnRelu", CudaNorm::fusedRelu, true, "batch norm with its ReLU in one op, faster on the H200"),
                new Switch("frl.cuda.ceParts", CudaSubPixel::crossEntropyFused, true, "the cross-entropy's backward as 3xTF32 parts, faster on the H200"),
                new Switch("frl.cuda.actNormConv", CudaConv1x1::actNormFused, false, "Glow's actnorm and 1×1 in one pass wait for a GPU run"),
                new Switch("frl.cuda.unfold", CudaUnfold.CHOICE::forced, FasterPath.Path.CUDNN, "convolutions as unfolded GEMMs wait for a GPU run"),
                new Switch("frl.cuda.sumBlocks", CudaReduce::shortRunsByBlocks, false, "channel sums of short runs by blocks wait for a GPU run"),
                new Switch("frl.cuda.shiftedKernel", CudaShiftedConv::tensorCores, false, "shifted convolutions on tensor cores wait for a GPU run"),
                new Switch("frl.cuda.gradCopies", CudaPointwise::batchedCopies, true, "a backward pass's parameter gradients copied in one launch"),
                new Switch("frl.cuda.cudnnMath", CudnnMath::allowed, List.of(CudnnMath.FMA, CudnnMath.TF32X3), "cuDNN on parts where faster by a margin"));
        for (Switch sw : switches) {
            System.clearProperty(sw.property());
            assertEquals(sw.unset(), sw.read().get(), "-D" + sw.property() + " unset: " + sw.why());
        }
    }
}
