package frl.ood;

import frl.backend.Backends;
import frl.backend.Rng;
import frl.data.ImageSet;
import frl.data.Synthetic;
import frl.io.Json;
import frl.model.DensityModel;
import frl.model.ModelSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Scoring and the report on tiny untrained models: every score, every file, and the report.json schema. */
class EvaluationTest {
    @Test void fourScoresPerOodSetAndAllReportFiles(@TempDir Path dir) throws Exception {
        ModelSpec frlSpec = ModelSpec.of(1, 5, 4, 8), plainSpec = ModelSpec.of(1, 0, 4, 8);
        try (DensityModel frl = frlSpec.build(Backends.cpu(), new Rng(1)); DensityModel plain = plainSpec.build(Backends.cpu(), new Rng(2))) {
            Scorer fs = new Scorer(Backends.cpu(), frlSpec, frl, 3, 4), ps = new Scorer(Backends.cpu(), plainSpec, plain, 3, 4);
            ImageSet in = Synthetic.constant(6, 1, 32, 32, 1).withName("in"), noise = Synthetic.noise(5, 1, 32, 32, 2).withName("noise");
            Evaluation.Outcome o = new Evaluation(ps, fs, 1.0, 7).run(in, List.of(noise), (s, m, d, t) -> {});
            assertEquals(List.of("nll", "ic", "nll_frl", "frl"), o.results().stream().map(Evaluation.Result::score).toList());
            Evaluation.Result ic = o.results().get(1);
            assertEquals(6, ic.inCount());
            assertEquals(5, ic.oodCount());
            double[] nll = o.sets().get(1).scores().get("nll"), icScores = o.sets().get(1).scores().get("ic");
            double[] l = Scorer.complexity(noise);
            for (int i = 0; i < nll.length; i++) assertEquals(nll[i] - l[i], icScores[i], 1e-9, "ic = nll − L");
            assertArrayEquals(nll, ps.nll(noise, 7, d -> {}), "the same seed gives the same scores");

            Report.write(dir, o, Map.of("note", "test"));
            @SuppressWarnings("unchecked")
            Map<String, Object> json = (Map<String, Object>) Json.parse(Files.readString(dir.resolve("report.json")));
            List<?> results = (List<?>) json.get("results");
            assertEquals(4, results.size());
            assertTrue(((Map<?, ?>) results.get(0)).keySet().containsAll(List.of("ood", "score", "auroc", "aupr_in", "aupr_out", "fpr95")));
            Map<?, ?> thresholds = (Map<?, ?>) json.get("thresholds_tpr95");
            assertEquals(List.of("nll", "ic", "nll_frl", "frl"), List.copyOf(thresholds.keySet()));
            double[] inFrl = o.sets().get(0).scores().get("frl").clone();
            java.util.Arrays.sort(inFrl);
            assertEquals(inFrl[5], ((Number) thresholds.get("frl")).doubleValue(), 1e-9, "95% of 6 in-distribution images: all 6 accepted");
            assertTrue(Files.readString(dir.resolve("report.md")).contains("| noise (6 / 5) |"));
            assertTrue(Files.readString(dir.resolve("report.md")).contains("## Thresholds that accept 95% of the in-distribution images"));
            assertNotNull(ImageIO.read(dir.resolve("roc-noise.png").toFile()));
            assertNotNull(ImageIO.read(dir.resolve("hist-noise-frl.png").toFile()));
        }
    }

    /** Likelihood Ratio and Likelihood Regret join the plain model's scores, each from its definition. */
    @Test void ratioAndRegretAreThePlainModelsBaselines() {
        ModelSpec plainSpec = ModelSpec.of(1, 0, 4, 8);
        try (DensityModel plain = plainSpec.build(Backends.cpu(), new Rng(2)); DensityModel background = plainSpec.build(Backends.cpu(), new Rng(5))) {
            Scorer ps = new Scorer(Backends.cpu(), plainSpec, plain, 3, 4), bs = new Scorer(Backends.cpu(), plainSpec, background, 3, 4);
            ImageSet in = Synthetic.constant(4, 1, 32, 32, 1).withName("in"), noise = Synthetic.noise(3, 1, 32, 32, 2).withName("noise");
            Regret.Config fit = new Regret.Config(3, 1e-2, 0, 2);
            Evaluation e = new Evaluation(ps, null, 1.0, 7).withRatio(bs).withRegret(fit);
            assertEquals(List.of("nll", "ic", "ratio", "regret"), e.scoreNames());
            Evaluation.Outcome o = e.run(in, List.of(noise), (s, m, d, t) -> {});
            assertEquals(e.scoreNames(), o.results().stream().map(Evaluation.Result::score).toList());
            Map<String, double[]> got = o.sets().get(1).scores();
            double[] nll = ps.nll(noise, 7, d -> {}), bg = bs.nll(noise, 7, d -> {});
            for (int i = 0; i < nll.length; i++) assertEquals(nll[i] - bg[i], got.get("ratio")[i], 1e-9, "ratio = nll − nll of the background");
            assertArrayEquals(new Regret(ps, fit).regret(noise, 7, nll, d -> {}), got.get("regret"), "regret as Regret gives it");
            assertTrue(o.imagesPerSecond().containsKey("ratio") && o.imagesPerSecond().containsKey("regret"), o.imagesPerSecond().toString());
        }
        assertThrows(IllegalArgumentException.class, () -> {
            ModelSpec frlSpec = ModelSpec.of(1, 5, 4, 8);
            try (DensityModel frl = frlSpec.build(Backends.cpu(), new Rng(1))) {
                new Evaluation(null, new Scorer(Backends.cpu(), frlSpec, frl, 2, 4), 1.0, 7).withRegret(Regret.Config.reference());
            }
        }, "regret without a plain model");
    }

    @Test void aSetOfTheWrongSizeIsRejectedWithBothSizes() {
        ModelSpec spec = ModelSpec.of(1, 5, 4, 8);
        try (DensityModel frl = spec.build(Backends.cpu(), new Rng(1))) {
            Scorer s = new Scorer(Backends.cpu(), spec, frl, 2, 4);
            Exception e = assertThrows(IllegalArgumentException.class, () -> s.nll(Synthetic.noise(2, 3, 28, 28, 1), 1, d -> {}));
            assertTrue(e.getMessage().contains("3×28×28") && e.getMessage().contains("1×32×32"), e.getMessage());
        }
    }
}
