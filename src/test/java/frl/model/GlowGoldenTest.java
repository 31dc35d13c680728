package frl.model;

import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.Rng;
import frl.backend.cuda.GpuTests;
import frl.io.Safetensors;
import frl.nn.Parameter;
import frl.tensor.Scope;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

import static frl.model.GoldenFiles.assertClose;
import static frl.model.GoldenFiles.ints;
import static frl.model.GoldenFiles.loadInto;
import static frl.model.GoldenFiles.on;

/**
 * The engine's Glow against the file bench/pytorch/frl_glow.py wrote with PyTorch (8×8, 2 channels, hidden 4, depth
 * 2, levels 2; every parameter moved off its init, float64 there): the same names, and the same weights and
 * dequantisation give the same log p(z), log-determinant, NLL per image, loss and gradients within 1e-4.
 */
class GlowGoldenTest {
    private static final Path GOLDEN = Path.of("src/test/resources/golden/glow_tiny.safetensors");

    @Test void nllLogdetLossAndGradientsMatchPyTorch() throws IOException { matchesPyTorch(Backends.cpu()); }

    @Test @Tag("gpu") void onCudaToo() throws IOException { matchesPyTorch(GpuTests.cudaOrSkip()); }

    private static void matchesPyTorch(Backend be) throws IOException {
        try (Scope _ = Scope.open(); Safetensors.Contents g = Safetensors.read(GOLDEN)) {
            int[] v = ints(g.metadata(), "size", "channels", "hidden", "depth", "levels");
            GlowConfig config = new GlowConfig(v[0], v[1], v[2], v[3], v[4]);
            Map<String, Tensor> t = g.tensors();
            try (Glow glow = new Glow(be, config, new Rng(1))) {
                loadInto(glow, t, k -> false);
                Tensor pixels = on(be, t.get("pixels")), u = on(be, t.get("u"));
                Glow.Encoded e = glow.encode(Var.constant(be.affine(be.binary(frl.backend.BinaryOp.ADD, pixels, u), 1 / 256.0, -0.5)));
                assertClose(t.get("logp").toDoubles(), e.logPrior().value().toDoubles(), 1e-4, "log p(z)");
                assertClose(t.get("logdet").toDoubles(), e.logdet().value().toDoubles(), 1e-4, "log-determinant");
                DensityModel.LossParts parts = glow.loss(Var.constant(be.affine(pixels, 1 / 255.0, 0)), Var.constant(pixels), u, 1);
                parts.loss().backward();
                assertClose(t.get("loss").toDoubles(), new double[] {parts.loss().value().item()}, 1e-4, "loss");
                for (Map.Entry<String, Parameter> p : glow.namedParameters().entrySet())
                    assertClose(t.get("grad." + p.getKey()).toDoubles(), p.getValue().grad().toDoubles(), 1e-4, "grad " + p.getKey());
                double[] nll = DensityModel.nllFromTerms(glow.logWeights(pixels, pixels, u.reshape(1, u.dim(0), glow.noisePerImage())));
                assertClose(t.get("nll").toDoubles(), nll, 1e-4, "NLL per image");
            }
        }
    }
}
