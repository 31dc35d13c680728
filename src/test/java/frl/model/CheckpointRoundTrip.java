package frl.model;

import frl.backend.Backend;
import frl.backend.Rng;
import frl.data.ImageSet;
import frl.ood.Scorer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A model of a spec trained by the Trainer on a set, its checkpoint written after each epoch; then the scores of the
 * set's first images (K samples, seed 4) and three samples (seed 6), from the trained model and from its checkpoint.
 */
record CheckpointRoundTrip(List<Trainer.Progress> progress, ModelSpec loadedSpec, double[] scores, double[] scoresLoaded, byte[] samples, byte[] samplesLoaded) {
    static CheckpointRoundTrip run(Backend be, ModelSpec spec, ImageSet set, TrainConfig config, Path file, int k, int images) throws Exception {
        List<Trainer.Progress> progress = new ArrayList<>();
        double[] scores;
        byte[] samples;
        try (DensityModel m = spec.build(be, new Rng(1)); Trainer t = new Trainer(be, m, spec.batches(), config, spec.toMap())) {
            t.run(set, file, progress::add);
            scores = new Scorer(be, spec, m, k, 8).nll(set.slice(0, images), 4, i -> {});
            samples = m.sample(3, new Rng(6));
        }
        try (ModelSpec.Loaded m = ModelSpec.load(be, file)) {
            m.model().eval();
            return new CheckpointRoundTrip(progress, m.spec(), scores, new Scorer(be, m.spec(), m.model(), k, 8).nll(set.slice(0, images), 4, i -> {}),
                    samples, m.model().sample(3, new Rng(6)));
        }
    }

    /** The loss the first report gave (after one step) and the last epoch's mean. */
    double firstLoss() { return progress.getFirst().loss(); }

    double lastLoss() { return progress.getLast().loss(); }
}
