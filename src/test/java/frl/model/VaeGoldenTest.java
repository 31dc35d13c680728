package frl.model;

import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.Rng;
import frl.io.Safetensors;
import frl.nn.Parameter;
import frl.tensor.Scope;
import frl.tensor.Tensor;
import frl.backend.cuda.GpuTests;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

import static frl.model.GoldenFiles.assertClose;
import static frl.model.GoldenFiles.ints;
import static frl.model.GoldenFiles.loadInto;
import static frl.model.GoldenFiles.on;
import static frl.model.GoldenFiles.prefixed;

/**
 * The engine's VAE against the file bench/pytorch/frl_vae.py wrote with PyTorch (tiny config, float64 there):
 * every torch name maps one to one onto the engine's, and the same weights and noise give the same loss,
 * gradients, running statistics and IWAE terms within 1e-4.
 */
class VaeGoldenTest {
    private static final Path GOLDEN = Path.of("src/test/resources/golden/vae_tiny.safetensors");

    @Test void lossGradientsRunningStatsAndIwaeMatchPyTorch() throws IOException { matchesPyTorch(Backends.cpu()); }

    @Test @Tag("gpu") void onCudaToo() throws IOException { matchesPyTorch(GpuTests.cudaOrSkip()); }

    private static void matchesPyTorch(Backend be) throws IOException {
        try (Scope scope = Scope.open(); Safetensors.Contents g = Safetensors.read(GOLDEN)) {
            int[] v = ints(g.metadata(), "isize", "nc", "ngf", "nz");
            VaeConfig config = new VaeConfig(v[0], v[1], v[2], v[3]);
            Map<String, Tensor> t = g.tensors();
            try (Vae vae = new Vae(be, config, new Rng(1))) {
                loadInto(vae, t, k -> k.endsWith("num_batches_tracked"));
                Tensor pixels = on(be, t.get("pixels"));
                Tensor x = be.affine(pixels, 1 / 255.0, 0);
                vae.train(true);
                DensityModel.LossParts parts = vae.loss(Var.constant(x), Var.constant(pixels), on(be, t.get("eps")), 1.0);
                parts.loss().backward();
                assertClose(t.get("loss").toDoubles(), new double[] {parts.loss().value().item()}, 1e-4, "loss");
                assertClose(t.get("rec").toDoubles(), new double[] {parts.part("rec")}, 1e-4, "reconstruction");
                assertClose(t.get("kl").toDoubles(), new double[] {parts.part("kl")}, 1e-4, "kl");
                for (Map.Entry<String, Parameter> p : vae.namedParameters().entrySet())
                    assertClose(t.get("grad." + p.getKey()).toDoubles(), p.getValue().grad().toDoubles(), 1e-4, "grad " + p.getKey());
                Map<String, Tensor> state = vae.stateDict();
                prefixed(t, "after.").forEach((k, want) -> assertClose(want.toDoubles(), state.get(k).toDoubles(), 1e-4, k));

                vae.eval();
                double[][] w = vae.logWeights(x, pixels, on(be, t.get("eps_iwae")));
                double[] flat = new double[w.length * w[0].length];
                for (int k = 0; k < w.length; k++) System.arraycopy(w[k], 0, flat, k * w[0].length, w[0].length);
                assertClose(t.get("iwae_terms").toDoubles(), flat, 1e-4, "IWAE terms");
                assertClose(t.get("nll").toDoubles(), Vae.nllFromTerms(w), 1e-4, "IWAE NLL");
            }
        }
    }
}
